"""Keras's Adam with PyTorch's fused update kernel."""

from __future__ import annotations

import math

import keras
import torch


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam whose weight update is PyTorch's fused Adam kernel.

    Same hyper-parameters, state (Keras variables) and arithmetic as ``keras.optimizers.Adam``:
    Keras adds epsilon to ``sqrt(v)``, PyTorch to ``sqrt(v_hat)``, so epsilon is passed rescaled by
    ``1 / sqrt(1 - beta_2^t)``. Gradient clipping, weight decay and EMA stay Keras's (its base
    class applies them around this update); ``amsgrad`` is not implemented.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam does not implement amsgrad; use keras.optimizers.Adam")

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        with torch.no_grad():
            params = [v.value for v in trainable_variables]
            moments = [self._momentums[self._get_variable_index(v)].value for v in trainable_variables]
            velocities = [self._velocities[self._get_variable_index(v)].value for v in trainable_variables]
            lr_tensor = getattr(learning_rate, "value", learning_rate)  # a Keras variable or a tensor
            lr = float(lr_tensor) if params[0].device.type == "cpu" else lr_tensor
            t = int(self.iterations.value) + 1
            fused_adam_update(
                params, list(grads), moments, velocities, t, lr, self.beta_1, self.beta_2, self.epsilon
            )


def fused_adam_update(
    params: list[torch.Tensor],
    grads: list[torch.Tensor],
    moments: list[torch.Tensor],
    velocities: list[torch.Tensor],
    t: int,
    lr: float | torch.Tensor,
    beta_1: float,
    beta_2: float,
    epsilon: float,
) -> None:
    """Keras's Adam update of step ``t`` (1 first) in place, by PyTorch's fused kernel.

    Keras adds ``epsilon`` to ``sqrt(v)``, PyTorch to ``sqrt(v_hat)``: it is passed rescaled by
    ``1 / sqrt(1 - beta_2^t)``.
    """
    step = torch.tensor(float(t), device=params[0].device)
    torch._fused_adam_(
        params,
        grads,
        moments,
        velocities,
        [],
        [step] * len(params),
        lr=lr,
        beta1=float(beta_1),
        beta2=float(beta_2),
        weight_decay=0.0,
        eps=float(epsilon) / math.sqrt(1.0 - float(beta_2) ** t),
        amsgrad=False,
        maximize=False,
    )


def fast_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer | None:
    """The fused replacement of optimizer ``name``, or None where there is none (use Keras's)."""
    if name == "adam":
        return FusedAdam(learning_rate=learning_rate)
    return None
