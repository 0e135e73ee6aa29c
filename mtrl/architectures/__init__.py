"""Sharing strategies as plug-ins: :class:`~mtrl.architectures.base.Architecture` classes by name.

``hard`` (:class:`~mtrl.architectures.hard.HardSharing`: each hidden layer shared by every task
or private to each, by a sharing mask) is the study's strategy; its presets are the entries of a
study's ``sharing``. The soft-sharing architectures join the sweep by their names as entries of
``sharing`` too (:func:`swept_architectures`), each configured under ``architectures.<name>``:
``cross_stitch`` (:mod:`~mtrl.architectures.cross_stitch`), ``mmoe``
(:mod:`~mtrl.architectures.mmoe`), ``cgc`` and ``ple`` (:mod:`~mtrl.architectures.ple`).
Importing this package, listing and checking names imports no Keras; :func:`get` imports a
strategy's module when first asked (the soft-sharing modules import Keras only to build).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtrl.architectures.base import Architecture
from mtrl.plugins import Registry

#: The strategy of a run that names none.
DEFAULT_ARCHITECTURE = "hard"

#: Every sharing strategy by name.
ARCHITECTURES: Registry[Architecture] = Registry(
    "architecture",
    Architecture,
    {
        "hard": "mtrl.architectures.hard:HardSharing",
        "cross_stitch": "mtrl.architectures.cross_stitch:CrossStitch",
        "mmoe": "mtrl.architectures.mmoe:MultiGateMixtureOfExperts",
        "cgc": "mtrl.architectures.ple:CustomizedGateControl",
        "ple": "mtrl.architectures.ple:ProgressiveLayeredExtraction",
    },
)
register = ARCHITECTURES.register
get = ARCHITECTURES.get


def create(
    name: str, widths: Sequence[int], dropout: Sequence[float], activation: str = "relu", **options: Any
) -> Architecture:
    """Strategy ``name`` built from the study's ``model`` settings and its own ``options``."""
    return get(name)(widths, dropout, activation, **options)


def swept_architectures() -> list[str]:
    """The architectures a study names as entries of ``sharing``: all but hard sharing (whose
    entries there are its presets), sorted."""
    return [name for name in ARCHITECTURES.names() if name != DEFAULT_ARCHITECTURE]


def architecture_of(run: Any) -> Architecture:
    """The architecture of a run: a ``RunSpec`` (or any object with its fields).

    Reads ``architecture`` (default :data:`DEFAULT_ARCHITECTURE`), ``widths``, ``dropout``,
    ``activation`` and the strategy's own :attr:`~mtrl.architectures.base.Architecture.options`:
    each from the run's ``architecture_options`` mapping where it is there, else from the run's
    field of that name (hard sharing's ``sharing_mask``).
    """
    cls = get(getattr(run, "architecture", DEFAULT_ARCHITECTURE))
    given = dict(getattr(run, "architecture_options", None) or {})
    options = {
        option: given[option] if option in given else getattr(run, option)
        for option in cls.options
        if option in given or hasattr(run, option)
    }
    return cls(run.widths, run.dropout, run.activation, **options)


__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCHITECTURE",
    "Architecture",
    "architecture_of",
    "create",
    "get",
    "register",
    "swept_architectures",
]
