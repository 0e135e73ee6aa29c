"""Loss-scaling methods whose weights change once per epoch: DWA and RLW (every backend).

* :class:`DynamicWeightAverage` (DWA; Liu, Johns & Davison 2019, "End-to-End Multi-Task Learning
  with Attention", eq. 7): ``w_t = K * softmax(r / T)_t`` with ``r_t = L_t(e-1) / L_t(e-2)``, the
  ratio of a task's mean training losses of the last two epochs, ``K`` tasks, temperature ``T``;
  equal weights (1) in the first two epochs.
* :class:`RandomLossWeighting` (RLW; Lin et al. 2021, "Reasonable Effectiveness of Random
  Weighting", the normal-distribution variant): ``w = softmax(z)`` with ``z ~ N(0, I_K)``, drawn
  once per *epoch* (the paper draws per step) from a generator seeded by the run seed and the
  epoch, so that every backend applies the weights without recompiling and ``history.csv``
  records the weights each epoch trained with. The weights sum to 1, as in the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from scipy.special import softmax

from mtrl.weightings.base import Weighting


class DynamicWeightAverage(Weighting):
    """DWA at temperature ``temperature`` (the schema's ``weightings.dwa.temperature``)."""

    def __init__(self, tasks: Sequence[str], temperature: float) -> None:
        super().__init__(tasks)
        if not float(temperature) > 0:
            raise ValueError(f"weightings.dwa.temperature = {temperature!r} must be greater than 0")
        self.temperature = float(temperature)

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        if epoch < 2 or any(len(task_losses.get(t, ())) < 2 for t in self.tasks):
            return dict.fromkeys(self.tasks, 1.0)
        ratios = np.array([task_losses[t][-1] / task_losses[t][-2] for t in self.tasks], dtype=float)
        weights = len(self.tasks) * softmax(ratios / self.temperature)
        return {t: float(w) for t, w in zip(self.tasks, weights, strict=True)}


class RandomLossWeighting(Weighting):
    """RLW: each epoch's weights the softmax of standard normal draws seeded by ``(seed, epoch)``."""

    run_fields: ClassVar[Mapping[str, str]] = {"seed": "seed"}

    def __init__(self, tasks: Sequence[str], seed: int = 0) -> None:
        super().__init__(tasks)
        self.seed = int(seed)

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        draws = np.random.default_rng([self.seed, int(epoch)]).standard_normal(len(self.tasks))
        return {t: float(w) for t, w in zip(self.tasks, softmax(draws), strict=True)}
