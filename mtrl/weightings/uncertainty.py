"""Uncertainty weighting (UW; Kendall, Gal & Cipolla 2018, "Multi-Task Learning Using
Uncertainty to Weigh Losses for Scene Geometry and Semantics"), on every backend.

Each task ``t`` has a learnable log-variance ``s_t = log(sigma_t^2)`` (initially 0) and the
training loss is ``sum_t exp(-s_t) * L_t + s_t``. The paper's factors differ by task kind
(regression ``L / (2 sigma^2) + log sigma``, classification ``L / sigma^2 + log sigma``); mtrl uses
the one form above for every kind, as LibMTL does (its ``UW`` is this form halved): with mixed
regression and classification heads the paper's factors would halve the regression tasks'
weights, a choice of the paper's derivation rather than of the method. The optimum of each term
is ``exp(-s_t) = 1 / L_t``. The log-variances are trainable weights of the training model (a small
Keras layer, :mod:`mtrl.backends.loss_weighting`), not of the saved ``model.keras``; the weights
``exp(-s_t)`` are recorded per epoch in ``history.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from mtrl.weightings.base import Weighting


class UncertaintyWeighting(Weighting):
    """UW: learned log-variances ``s_t``; loss ``sum_t exp(-s_t) * L_t + s_t``."""

    learned: ClassVar[bool] = True

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        """The weights at the start (every ``s_t`` = 0): 1 for each task."""
        return dict.fromkeys(self.tasks, 1.0)

    @staticmethod
    def weights(log_variances: Sequence[float]) -> np.ndarray:
        """The loss weights ``exp(-s_t)`` of log-variances ``s_t``."""
        return np.exp(-np.asarray(log_variances, dtype=float))

    @staticmethod
    def objective(losses: Sequence[float], log_variances: Sequence[float]) -> float:
        """The training loss ``sum_t exp(-s_t) * L_t + s_t`` (the reference for the Keras layer)."""
        s = np.asarray(log_variances, dtype=float)
        return float(np.sum(np.exp(-s) * np.asarray(losses, dtype=float) + s))
