"""Sharing strategies as plug-ins: :class:`~mtrl.architectures.base.Architecture` classes by name.

``hard`` (:class:`~mtrl.architectures.hard.HardSharing`: each hidden layer shared by every task
or private to each, by a sharing mask) is the study's strategy. Importing this package, listing
and checking names imports no Keras; :func:`get` imports a strategy's module when first asked.
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
    "architecture", Architecture, {"hard": "mtrl.architectures.hard:HardSharing"}
)
register = ARCHITECTURES.register
get = ARCHITECTURES.get


def create(
    name: str, widths: Sequence[int], dropout: Sequence[float], activation: str = "relu", **options: Any
) -> Architecture:
    """Strategy ``name`` built from the study's ``model`` settings and its own ``options``."""
    return get(name)(widths, dropout, activation, **options)


def architecture_of(run: Any) -> Architecture:
    """The architecture of a run: a ``RunSpec`` (or any object with its fields).

    Reads ``architecture`` (default :data:`DEFAULT_ARCHITECTURE`), ``widths``, ``dropout``,
    ``activation`` and the strategy's own :attr:`~mtrl.architectures.base.Architecture.options`.
    """
    cls = get(getattr(run, "architecture", DEFAULT_ARCHITECTURE))
    options = {option: getattr(run, option) for option in cls.options}
    return cls(run.widths, run.dropout, run.activation, **options)


__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCHITECTURE",
    "Architecture",
    "architecture_of",
    "create",
    "get",
    "register",
]
