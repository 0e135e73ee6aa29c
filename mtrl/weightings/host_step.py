"""What GradNorm and FAMO share: task weights from learnable logits that Adam trains on the host,
from each step's task losses (:class:`HostStepWeighting`, :class:`LogitAdam`). No framework here."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mtrl.weightings.gradient import GRADIENT_BACKENDS, GradientWeighting

#: Adam's constants for the logits (PyTorch's defaults, LibMTL's optimizer).
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


class LogitAdam:
    """PyTorch's Adam (betas 0.9, 0.999, eps 1e-8) at ``learning_rate`` on K task logits
    (:attr:`logits`, initially 0), in NumPy."""

    def __init__(self, k: int, learning_rate: float) -> None:
        self.learning_rate = float(learning_rate)
        self.logits = np.zeros(k)
        self._m, self._v, self._steps = np.zeros(k), np.zeros(k), 0

    def step(self, grad: np.ndarray) -> None:
        """One step of the logits along the gradient ``grad``."""
        self._steps += 1
        self._m = BETA1 * self._m + (1 - BETA1) * grad
        self._v = BETA2 * self._v + (1 - BETA2) * grad**2
        m_hat = self._m / (1 - BETA1**self._steps)
        v_hat = self._v / (1 - BETA2**self._steps)
        self.logits = self.logits - self.learning_rate * m_hat / (np.sqrt(v_hat) + EPSILON)


class HostStepWeighting(GradientWeighting):
    """A gradient method whose weights its own step computes on the host from the step's task
    losses (and the gradients' norms); the PyTorch binding (:mod:`mtrl.backends.torch.gradients`)
    hands them over."""

    constant: ClassVar[bool] = False  # the weights change every step: never the stacked path
    uses_losses: ClassVar[bool] = True

    def aggregate(self, jacobian: Any, losses: Any = None) -> tuple[Any, Any]:
        """``(sum_t w_t g_t, w)`` of the Jacobian (rows ``g_t``) and the step's task ``losses``."""
        if losses is None:
            raise ValueError(f"{self.aggregator}: aggregate needs the step's task losses")
        return super().aggregate(jacobian, losses)

    def _check_bound(self) -> None:
        if self._aggregate is None:
            raise RuntimeError(
                f"{self.aggregator}: not bound; it trains on backend(s) {', '.join(GRADIENT_BACKENDS)} "
                "(mtrl.backends.torch.gradients binds its step)"
            )
