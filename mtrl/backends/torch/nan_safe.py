"""Per-sample losses that are NaN where the network's output is NaN, on every device.

PyTorch's binary cross-entropy checks that its input lies in [0, 1]: on a CPU a NaN probability
raises a RuntimeError; on a CUDA GPU it trips a device-side assert that leaves the process's CUDA
context unusable ("CUDA error: device-side assert triggered"). Weights gone non-finite must
instead give a NaN loss, which the training loops report as a
:class:`~mtrl.errors.NonFiniteLossError` naming the run (or replicate) and the epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from mtrl.errors import NonFiniteLossError


def nan_safe_loss(
    fn: Callable[..., torch.Tensor], target: torch.Tensor, output: torch.Tensor, **kwargs
) -> torch.Tensor:
    """``fn(target, output)`` per sample (a Keras loss function: it reduces the last axis), NaN
    for each sample whose output holds a NaN, without passing NaN to ``fn``."""
    bad = torch.isnan(output)
    per_sample = fn(target, torch.where(bad, 0.5, output), **kwargs)
    return torch.where(bad.reshape(*per_sample.shape, -1).any(-1), torch.nan, per_sample)


def nan_step_error(model: Any) -> NonFiniteLossError:
    """The error of a training step that met non-finite weights, naming the epoch (``fit``'s
    :func:`~mtrl.train.finite_loss_guard` keeps it on ``model.current_epoch``)."""
    epoch = getattr(model, "current_epoch", None)
    where = f"at epoch {epoch + 1}" if epoch is not None else "in training"
    return NonFiniteLossError(
        f"loss became nan {where} (the weights are no longer finite); lower "
        "training.learning_rate or check the labels for extreme values"
    )
