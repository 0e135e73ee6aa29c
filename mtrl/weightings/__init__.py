"""Loss-weighting methods as plug-ins: :class:`~mtrl.weightings.base.Weighting` classes by name.

``equal`` (:class:`~mtrl.weightings.equal.EqualWeighting`: fixed weights, the study's
``training.loss_weights``) is the study's method. A study sweeps others through its ``sharing``
entries, ``<preset or architecture>+<weighting>`` (read by :func:`mtrl.sharing.split_entry`); each
method's options are the config's ``weightings.<name>`` block, whose defaults live in the schema
(:func:`method_options`). No Keras is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtrl.plugins import Registry
from mtrl.schema import load_schema
from mtrl.weightings.base import Weighting

#: The method of a run that names none.
DEFAULT_WEIGHTING = "equal"
#: The prefix of a task's loss weight in the training logs and ``history.csv``: ``weight_<task slug>``.
WEIGHT_PREFIX = "weight_"

#: Every loss-weighting method by name.
WEIGHTINGS: Registry[Weighting] = Registry(
    "weighting",
    Weighting,
    {
        "equal": "mtrl.weightings.equal:EqualWeighting",
        "uw": "mtrl.weightings.uncertainty:UncertaintyWeighting",
        "dwa": "mtrl.weightings.scaling:DynamicWeightAverage",
        "rlw": "mtrl.weightings.scaling:RandomLossWeighting",
        "pcgrad": "mtrl.weightings.gradient:PCGrad",
        "cagrad": "mtrl.weightings.gradient:CAGrad",
        "mgda": "mtrl.weightings.gradient:MGDA",
        "imtl_g": "mtrl.weightings.gradient:IMTLG",
        "nash_mtl": "mtrl.weightings.gradient:NashMTL",
        "aligned_mtl": "mtrl.weightings.gradient:AlignedMTL",
        "upgrad": "mtrl.weightings.gradient:UPGrad",
        "gradnorm": "mtrl.weightings.gradnorm:GradNorm",
        "famo": "mtrl.weightings.famo:FAMO",
    },
)
register = WEIGHTINGS.register
get = WEIGHTINGS.get


def create(name: str, tasks: Sequence[str], **options: Any) -> Weighting:
    """Method ``name`` for the run's ``tasks`` (task names) with its own ``options``."""
    return get(name)(tasks, **options)


def method_options(name: str, configured: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Options of method ``name``: the schema's defaults of ``weightings.<name>``, then ``configured``."""
    block = load_schema()["properties"]["weightings"]["properties"].get(name, {})
    defaults = {
        key: spec["default"] for key, spec in block.get("properties", {}).items() if "default" in spec
    }
    return {**defaults, **dict(configured or {})}


def run_record(run: Any, history: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    """What ``metrics.json`` records of a run's weighting (under ``training``).

    Nothing for :data:`DEFAULT_WEIGHTING` (its runs' documents stay as they were), else the
    method, its options and the task weights of the last epoch (``history``: the logs of ``fit``,
    with ``weight_<task slug>`` columns).
    """
    name = getattr(run, "weighting", DEFAULT_WEIGHTING)
    if name == DEFAULT_WEIGHTING:
        return {}
    last = {
        key[len(WEIGHT_PREFIX) :]: float(v[-1]) for key, v in history.items() if key.startswith(WEIGHT_PREFIX)
    }
    return {
        "weighting": {
            "name": name,
            "options": dict(getattr(run, "weighting_options", {})),
            "last_weights": last,
        }
    }


def weighting_of(run: Any) -> Weighting:
    """The weighting of a run: a ``RunSpec`` (or any object with its fields).

    Reads ``weighting``, ``weighting_options`` (over the schema's defaults) and the ``RunSpec``
    fields the method takes (:attr:`~mtrl.weightings.base.Weighting.run_fields`).
    """
    name = getattr(run, "weighting", DEFAULT_WEIGHTING)
    cls = get(name)
    options = method_options(name, getattr(run, "weighting_options", None))
    options.update({keyword: getattr(run, field) for keyword, field in cls.run_fields.items()})
    return cls(run.tasks, **options)


def supports_backend(name: str, backend: str) -> bool:
    """Whether method ``name`` trains on Keras backend ``backend``."""
    backends = get(name).backends
    return backends is None or backend in backends


__all__ = [
    "DEFAULT_WEIGHTING",
    "WEIGHTINGS",
    "WEIGHT_PREFIX",
    "Weighting",
    "create",
    "get",
    "method_options",
    "register",
    "run_record",
    "supports_backend",
    "weighting_of",
]
