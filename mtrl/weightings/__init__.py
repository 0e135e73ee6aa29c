"""Loss-weighting methods as plug-ins: :class:`~mtrl.weightings.base.Weighting` classes by name.

``equal`` (:class:`~mtrl.weightings.equal.EqualWeighting`: fixed weights, the study's
``training.loss_weights``) is the study's method. No Keras is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mtrl.plugins import Registry
from mtrl.weightings.base import Weighting

#: The method of a run that names none.
DEFAULT_WEIGHTING = "equal"

#: Every loss-weighting method by name.
WEIGHTINGS: Registry[Weighting] = Registry(
    "weighting", Weighting, {"equal": "mtrl.weightings.equal:EqualWeighting"}
)
register = WEIGHTINGS.register
get = WEIGHTINGS.get


def create(name: str, tasks: Sequence[str], **options: Any) -> Weighting:
    """Method ``name`` for the run's ``tasks`` (task names) with its own ``options``."""
    return get(name)(tasks, **options)


__all__ = ["DEFAULT_WEIGHTING", "WEIGHTINGS", "Weighting", "create", "get", "register"]
