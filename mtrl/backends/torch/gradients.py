"""Gradient methods on the PyTorch path: per-task gradients combined by a TorchJD aggregator.

A training step of :class:`GradientTrainer` (mixed into the
:class:`~mtrl.backends.torch.autocast.AutocastModel` view) computes each task's loss, one backward
pass per task (``torch.autograd.grad`` over the trainable weights), copies the tasks' gradients of
the shared weights (those in more than one task's graph) once, into the Jacobian's rows, and sets
their update to the method's :meth:`~mtrl.weightings.gradient.GradientWeighting.aggregate`,
TorchJD's aggregation (``torchjd.aggregation``); a private weight keeps its own task's gradient. Keras's
``fit`` (early stopping, history, metrics) runs unchanged; each epoch's logs gain the mean task
weights of its steps (``weight_<task slug>``: the weights of the Jacobian's rows in the update).
GradNorm (:mod:`mtrl.weightings.gradnorm`) and FAMO (:mod:`mtrl.weightings.famo`) are bound by
:func:`bind_gradnorm` and :func:`bind_famo` instead: their weights come from the rows' norms and
the step's task losses (FAMO: the losses; it also weights the private weights' gradients and
learns from the batch's losses after the step), computed on the host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import torch
import torchjd.aggregation

from mtrl.backends.keras_internals import data_adapter_utils
from mtrl.weightings import WEIGHT_PREFIX
from mtrl.weightings.famo import FAMO
from mtrl.weightings.gradient import GradientWeighting
from mtrl.weightings.gradnorm import GradNorm


def torchjd_aggregator(weighting: GradientWeighting) -> torchjd.aggregation.WeightedAggregator:
    """TorchJD's aggregator of ``weighting`` (its class and options)."""
    cls = getattr(torchjd.aggregation, weighting.aggregator)
    aggregator = cls(**weighting.aggregator_arguments())
    if not isinstance(aggregator, torchjd.aggregation.WeightedAggregator):
        raise TypeError(f"{weighting.aggregator} does not weight the Jacobian's rows")
    return aggregator


def bind_torchjd(weighting: GradientWeighting) -> None:
    """Bind TorchJD's aggregator to ``weighting``: Jacobian ``J`` -> (``weights @ J``, ``weights``)."""
    aggregator = torchjd_aggregator(weighting)

    def aggregate(
        jacobian: torch.Tensor, losses: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weights = aggregator.weighting(jacobian)  # the losses are not TorchJD's business
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)


def bind_gradnorm(weighting: GradNorm) -> None:
    """Bind GradNorm's step: the rows' norms and the losses go to the host (one transfer), its
    weights ``w`` come back; Jacobian ``J`` -> (``w @ J``, ``w``)."""
    k = len(weighting.tasks)

    def aggregate(jacobian: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        norms = torch.linalg.vector_norm(jacobian, dim=1)
        stats = torch.cat([norms.detach(), losses.detach().reshape(-1).to(norms.dtype)])
        host = stats.to("cpu", torch.float64).numpy()
        weights = torch.as_tensor(weighting.step(host[:k], host[k:]), dtype=jacobian.dtype)
        weights = weights.to(jacobian.device)
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)


def bind_famo(weighting: FAMO) -> None:
    """Bind FAMO's step: the losses go to the host, its weights ``w`` come back; Jacobian ``J`` ->
    (``w @ J``, ``w``)."""

    def aggregate(jacobian: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        host = losses.detach().to("cpu", torch.float64).numpy()
        weights = torch.as_tensor(weighting.step(host), dtype=jacobian.dtype).to(jacobian.device)
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)


def bind(weighting: GradientWeighting) -> None:
    """Bind ``weighting``'s aggregation: GradNorm's or FAMO's own step, else TorchJD's aggregator."""
    if isinstance(weighting, GradNorm):
        bind_gradnorm(weighting)
    elif isinstance(weighting, FAMO):
        bind_famo(weighting)
    else:
        bind_torchjd(weighting)


class GradientTrainer:
    """Mixed into the PyTorch training view: its step updates shared weights by :attr:`weighting`."""

    weighting: GradientWeighting
    task_slugs: Mapping[str, str]

    def train_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        x, n_rows, device_type = self._step_batch(x)
        with self._autocast(device_type):
            y_pred = self.fast_call(x, training=True)
        lean = self._lean()
        if lean is None:
            raise ValueError(f"gradient method {self.weighting.aggregator}: needs mtrl's compiled losses")
        losses = dict(zip(lean.output_names(), lean.task_losses(y, y_pred, sample_weight), strict=True))
        self._loss_tracker.update_state(sum(losses.values()), sample_weight=n_rows)
        variables = self.trainable_weights
        grads = self._combined_gradients(losses, [v.value for v in variables])
        with torch.no_grad():
            self.optimizer.apply(grads, variables)
        if self.weighting.updates_after_step:
            self._update_after_step(x, y, sample_weight, lean, device_type)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _combined_gradients(self, losses: Mapping[str, torch.Tensor], params: list[torch.Tensor]) -> list:
        """Each parameter's update: the method's combination where shared, else its task's gradient."""
        tasks = self.weighting.tasks
        per_task = {
            task: torch.autograd.grad(
                losses[self.task_slugs[task]], params, retain_graph=i < len(tasks) - 1, allow_unused=True
            )
            for i, task in enumerate(tasks)
        }
        users = [[task for task in tasks if per_task[task][j] is not None] for j in range(len(params))]
        shared = [j for j, used_by in enumerate(users) if len(used_by) > 1]
        grads = [per_task[used_by[0]][j] if used_by else None for j, used_by in enumerate(users)]
        if not shared and not self.weighting.scales_private:
            return grads
        sizes = [params[j].numel() for j in shared]
        jacobian = params[shared[0] if shared else 0].new_empty(len(tasks), sum(sizes))  # one copy
        for row, task in zip(jacobian, tasks, strict=True):
            for j, part in zip(shared, torch.split(row, sizes), strict=True):
                grad = per_task[task][j]  # copied as it lies (a reshape may copy it first)
                if grad is None:
                    part.zero_()
                else:
                    part.view(params[j].shape).copy_(grad)
        direction, weights = self.weighting.aggregate(jacobian, self._task_losses(losses))
        self._record_weights(weights)
        for j, part in zip(shared, torch.split(direction, sizes), strict=True):
            grads[j] = part.reshape(params[j].shape)
        if self.weighting.scales_private:  # the gradient of the weighted loss (FAMO)
            for j, used_by in enumerate(users):
                if len(used_by) == 1:
                    grads[j] = grads[j] * weights[tasks.index(used_by[0])]
        return grads

    def _task_losses(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """The step's task losses as one vector in the tasks' order, for methods that read them."""
        if not self.weighting.uses_losses:
            return None
        return torch.stack([losses[self.task_slugs[task]].detach().float() for task in self.weighting.tasks])

    def _update_after_step(self, x, y, sample_weight, lean, device_type: str) -> None:
        """Hand the method the batch's task losses after the step (FAMO; in training mode, with
        dropout, as LibMTL computes them)."""
        with torch.no_grad(), self._autocast(device_type):
            after = lean.task_losses(y, self.fast_call(x, training=True), sample_weight)
        vector = self._task_losses(dict(zip(lean.output_names(), after, strict=True)))
        self.weighting.update(vector.to("cpu", torch.float64).numpy())

    def _record_weights(self, weights: torch.Tensor) -> None:
        total = weights.detach().to(torch.float64)
        self._epoch_weights = total if self._epoch_weights is None else self._epoch_weights + total
        self._epoch_steps += 1

    def epoch_weights(self) -> list[float] | None:
        """The mean task weights of the steps since the last call (None before any step)."""
        if self._epoch_weights is None:
            return None
        mean = (self._epoch_weights / self._epoch_steps).tolist()
        self._epoch_weights, self._epoch_steps = None, 0
        return mean

    def fit(self, *args: Any, callbacks: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        own = EpochGradientWeights(self.weighting.tasks, self.task_slugs)
        return super().fit(*args, callbacks=[own, *(callbacks or [])], **kwargs)


class EpochGradientWeights(keras.callbacks.Callback):
    """Adds each epoch's mean task weights (``weight_<slug>``) to its logs (``history.csv``)."""

    def __init__(self, tasks: Sequence[str], slugs: Mapping[str, str]) -> None:
        super().__init__()
        self.tasks, self.slugs = tuple(tasks), dict(slugs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        weights = self.model.epoch_weights()
        if logs is None or weights is None:
            return
        for task, weight in zip(self.tasks, weights, strict=True):
            logs[f"{WEIGHT_PREFIX}{self.slugs[task]}"] = weight


def gradient_view(
    trainer: keras.Model, weighting: GradientWeighting, slugs: Mapping[str, str]
) -> keras.Model:
    """The PyTorch training view ``trainer`` whose steps follow gradient method ``weighting``."""
    bind(weighting)
    base = type(trainer)
    trainer.__class__ = type(f"Gradient{base.__name__}", (GradientTrainer, base), {})
    trainer.weighting, trainer.task_slugs = weighting, dict(slugs)
    trainer._epoch_weights, trainer._epoch_steps = None, 0
    return trainer
