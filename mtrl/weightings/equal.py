"""Equal weighting (EW): fixed per-task loss weights, 1 unless the config sets one.

The study's behaviour: ``training.loss_weights`` (task name -> weight, default 1 for each task)
passed to ``compile`` once, so that the loss is ``sum(w[t] * loss[t])`` in every epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from mtrl.weightings.base import Weighting


class EqualWeighting(Weighting):
    """Constant weights: ``weights[t]`` where given (a task of the run), else 1."""

    constant: ClassVar[bool] = True
    run_fields: ClassVar[Mapping[str, str]] = {"weights": "loss_weights"}

    def __init__(self, tasks: Sequence[str], weights: Mapping[str, float] | None = None) -> None:
        super().__init__(tasks)
        weights = dict(weights or {})
        unknown = [t for t in weights if t not in self.tasks]
        if unknown:
            raise ValueError(
                f"loss weights: unknown task(s) {', '.join(map(repr, unknown))}; "
                f"tasks of the run: {', '.join(self.tasks)}"
            )
        negative = {t: w for t, w in weights.items() if not float(w) >= 0}
        if negative:
            raise ValueError(f"loss weights: {negative} must be at least 0")
        self.weights = {t: float(weights.get(t, 1.0)) for t in self.tasks}

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        return dict(self.weights)
