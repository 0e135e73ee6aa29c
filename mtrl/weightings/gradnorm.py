"""GradNorm (Chen et al. 2018, ICML, "GradNorm: Gradient Normalization for Adaptive Loss Balancing
in Deep Multitask Networks"), a gradient method of mtrl's own (TorchJD has none), as LibMTL
writes it (``LibMTL/weighting/GradNorm.py``).

Task weights ``w = K * softmax(z)`` of learnable logits ``z`` (initially 0: every ``w_t`` = 1; the
softmax keeps ``sum(w) = K``, the paper's renormalisation). At each step, with ``g_t`` a task's
gradient of the shared parameters and ``L_t`` its loss:

* ``G_t = ||w_t g_t||``, the norm over the gradients of *all* shared parameters (those in more than
  one task's graph), as LibMTL takes it; the paper takes the last shared layer's weights only;
* ``r_t = (L_t / L_t(0)) / mean_j(L_j / L_j(0))``, ``L(0)`` the losses of the run's first step
  (the paper's initial loss; LibMTL trains its first epoch with equal weights and takes that
  epoch's mean losses instead);
* ``L_grad = sum_t |G_t - mean(G) * r_t ** alpha|``, the target ``mean(G) * r ** alpha`` a constant;
* the shared parameters' update direction is ``sum_t w_t g_t`` (the weights before this step's
  update of ``z``), private parameters keep their own task's gradient;
* ``z`` takes one Adam step (PyTorch's defaults: betas 0.9, 0.999, eps 1e-8) on the gradient of
  ``L_grad`` at learning rate ``learning_rate`` (the schema's ``weightings.gradnorm.learning_rate``;
  null: the run's ``training.learning_rate``; LibMTL: the model's optimizer).

The state (``z``, Adam's moments, ``L(0)``) is the instance's: one per run. This module computes in
NumPy on the host: the PyTorch binding (:mod:`mtrl.backends.torch.gradients`) hands it each step's
row norms ``||g_t||`` and losses and applies the weights to the Jacobian on the device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from scipy.special import softmax

from mtrl.weightings.host_step import HostStepWeighting, LogitAdam

#: The smallest loss a ratio divides by (a first loss of 0 would make every ratio infinite).
TINY = 1e-12


class GradNorm(HostStepWeighting):
    """GradNorm with restoring strength ``alpha`` and Adam at ``learning_rate`` on the logits."""

    aggregator: ClassVar[str] = "GradNorm"
    run_fields: ClassVar[Mapping[str, str]] = {"run_learning_rate": "learning_rate"}

    def __init__(
        self,
        tasks: Sequence[str],
        alpha: float,
        learning_rate: float | None,
        run_learning_rate: float | None = None,
    ) -> None:
        super().__init__(tasks)
        if not float(alpha) >= 0:
            raise ValueError(f"weightings.gradnorm.alpha = {alpha!r} must be at least 0")
        rate = run_learning_rate if learning_rate is None else learning_rate
        if rate is None or not float(rate) > 0:
            raise ValueError(
                f"weightings.gradnorm.learning_rate = {learning_rate!r} (null: the run's learning "
                f"rate, {run_learning_rate!r}) must be greater than 0"
            )
        self.options = {"alpha": float(alpha), "learning_rate": learning_rate}
        self.alpha, self.learning_rate = float(alpha), float(rate)
        self.adam = LogitAdam(len(self.tasks), self.learning_rate)
        self.initial_losses: np.ndarray | None = None

    @property
    def logits(self) -> np.ndarray:
        """The logits ``z`` now."""
        return self.adam.logits

    def task_weights(self) -> np.ndarray:
        """The weights now: ``K * softmax(z)``."""
        return len(self.tasks) * softmax(self.logits)

    def logit_gradient(self, norms: Sequence[float], losses: Sequence[float]) -> np.ndarray:
        """The gradient of ``L_grad`` by the logits, the target held constant.

        ``norms``: ``||g_t||``; ``losses``: ``L_t`` (this step's; ``L(0)`` must be set). With
        ``G_t = w_t ||g_t||``: ``dL/dw_t = sign(G_t - target_t) ||g_t||`` and, through
        ``w = K softmax(z)``, ``dL/dz_j = w_j dL/dw_j - s_j sum_t w_t dL/dw_t`` (``s = w / K``).
        """
        if self.initial_losses is None:
            raise ValueError("GradNorm: no first losses L(0) yet")
        norms, losses = np.asarray(norms, dtype=float), np.asarray(losses, dtype=float)
        weights = self.task_weights()
        scaled = weights * norms
        ratios = losses / np.maximum(self.initial_losses, TINY)
        relative = ratios / max(float(ratios.mean()), TINY)
        target = scaled.mean() * relative**self.alpha
        by_weight = np.sign(scaled - target) * norms
        return weights * by_weight - weights / len(weights) * float(weights @ by_weight)

    def step(self, norms: Sequence[float], losses: Sequence[float]) -> np.ndarray:
        """This step's task weights (those before the update); then one Adam step of the logits.

        The first call's ``losses`` become ``L(0)``.
        """
        losses = np.asarray(losses, dtype=float)
        if self.initial_losses is None:
            self.initial_losses = losses.copy()
        weights = self.task_weights()
        self.adam.step(self.logit_gradient(norms, losses))
        return weights

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        """The weights now (1 each before the first step)."""
        return {t: float(w) for t, w in zip(self.tasks, self.task_weights(), strict=True)}
