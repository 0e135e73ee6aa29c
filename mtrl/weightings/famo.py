"""FAMO (Liu et al. 2023, NeurIPS, "FAMO: Fast Adaptive Multitask Optimization"), as LibMTL writes
it (``LibMTL/weighting/FAMO.py``, after the official implementation), on the PyTorch gradient step.

Learnable logits ``z`` (initially 0), ``s = softmax(z)``. At each step, with ``L_t`` the task losses
(their minima taken as 0, as LibMTL does) and ``D_t = L_t + 1e-8``, the update is the gradient of
``sum_t s_t log(D_t) / c``, ``c = sum_t s_t / D_t`` a constant: every parameter's gradient is
``sum_t w_t g_t`` with ``w_t = s_t / (c D_t)`` (the weights sum to 1), private parameters included.
After the step the losses of the same batch are computed again (``L'``) and ``z`` takes one Adam step
(PyTorch's: betas 0.9, 0.999, eps 1e-8, L2 weight decay ``weight_decay``) at ``learning_rate`` on
the vector-Jacobian product of ``softmax`` at ``z`` with ``delta = log D - log D'``, the
decrease of each task's log-loss; a task whose loss fell less gains weight.

The paper's point is one backward pass per step; here FAMO runs on the gradient methods' step
(one backward pass per task and the Jacobian of the shared parameters), so it costs what they
cost, plus the forward pass for ``L'``. This module computes in NumPy on the host; the PyTorch
binding (:mod:`mtrl.backends.torch.gradients`) hands it the losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
from scipy.special import softmax

from mtrl.weightings.host_step import HostStepWeighting, LogitAdam

#: Added to each loss before its logarithm (LibMTL's and the official implementation's).
LOSS_FLOOR = 1e-8


class FAMO(HostStepWeighting):
    """FAMO with Adam at ``learning_rate`` and L2 decay ``weight_decay`` on the logits."""

    aggregator: ClassVar[str] = "FAMO"
    scales_private: ClassVar[bool] = True
    updates_after_step: ClassVar[bool] = True

    def __init__(self, tasks: Sequence[str], learning_rate: float, weight_decay: float) -> None:
        super().__init__(tasks)
        if not float(learning_rate) > 0:
            raise ValueError(f"weightings.famo.learning_rate = {learning_rate!r} must be greater than 0")
        if not float(weight_decay) >= 0:
            raise ValueError(f"weightings.famo.weight_decay = {weight_decay!r} must be at least 0")
        self.options = {"learning_rate": float(learning_rate), "weight_decay": float(weight_decay)}
        self.learning_rate, self.weight_decay = float(learning_rate), float(weight_decay)
        self.adam = LogitAdam(len(self.tasks), self.learning_rate)
        self._last: np.ndarray | None = None  # D of the step whose update is pending

    @property
    def logits(self) -> np.ndarray:
        """The logits ``z`` now."""
        return self.adam.logits

    def step(self, losses: Sequence[float]) -> np.ndarray:
        """This step's task weights ``w_t = s_t / (c D_t)`` of its losses (kept for :meth:`update`)."""
        shifted = np.asarray(losses, dtype=float) + LOSS_FLOOR
        share = softmax(self.logits) / shifted
        self._last = shifted
        return share / share.sum()

    def update(self, losses_after: Sequence[float]) -> None:
        """One Adam step of the logits from the losses of the same batch after the step."""
        if self._last is None:
            raise ValueError("FAMO: update before any step")
        delta = np.log(self._last) - np.log(np.asarray(losses_after, dtype=float) + LOSS_FLOOR)
        s = softmax(self.logits)
        self.adam.step(s * (delta - s @ delta) + self.weight_decay * self.logits)
        self._last = None

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        """``softmax(z)`` now (the weights of equal losses; 1 / K each before the first step)."""
        return {t: float(w) for t, w in zip(self.tasks, softmax(self.logits), strict=True)}
