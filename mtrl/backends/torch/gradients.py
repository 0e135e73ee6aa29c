"""Gradient methods on the PyTorch path: per-task gradients combined by a TorchJD aggregator.

A training step of :class:`GradientTrainer` (mixed into the
:class:`~mtrl.backends.torch.autocast.AutocastModel` view) computes each task's loss, one backward
pass per task (``torch.autograd.grad`` over the trainable weights), and sets the update of the
shared weights (those in more than one task's graph) to the method's combination of the tasks'
gradients; a private weight keeps its own task's gradient. Keras's ``fit`` (early stopping,
history, metrics) runs unchanged; each epoch's logs gain the mean task weights of its steps
(``weight_<task slug>``: the weights of the tasks' gradients in the update).

Every method here but Nash-MTL weights the tasks from the Gramian of their gradients (``J J^T``,
K x K) and the step's losses alone (:class:`GramianRule`): the step then sums the tasks'
dot products weight by weight and adds the weighted gradients in place, never building the
K x (shared weights) Jacobian: a copy of every shared gradient, ``J J^T`` and ``w @ J`` were two
thirds of a gradient step's time beyond its backward passes. TorchJD's Gramian-based aggregators
(``torchjd.aggregation.GramianWeightedAggregator``) give their ``gramian_weighting``; GradNorm
(:mod:`mtrl.weightings.gradnorm`) reads the rows' norms (the Gramian's diagonal) and the losses,
FAMO (:mod:`mtrl.weightings.famo`) the losses only (it also weights the private weights'
gradients and learns from the batch's losses after the step), both on the host. Nash-MTL takes
the Jacobian (:meth:`~mtrl.weightings.gradient.GradientWeighting.aggregate`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import torch
import torchjd.aggregation

from mtrl.backends.keras_internals import data_adapter_utils
from mtrl.backends.torch.nan_safe import nan_step_error
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


@dataclass(frozen=True)
class GramianRule:
    """How a method's task weights follow from the tasks' Gramian and the step's losses:
    ``weights(gramian, losses)`` (K x K and K, in the tasks' order; ``gramian`` is None where
    :attr:`needs_gramian` is false, ``losses`` None unless the method reads them)."""

    weights: Callable[[torch.Tensor | None, torch.Tensor | None], torch.Tensor]
    needs_gramian: bool = True


def bind_torchjd(weighting: GradientWeighting) -> GramianRule | None:
    """Bind TorchJD's aggregator to ``weighting``: Jacobian ``J`` -> (``weights @ J``, ``weights``);
    the rule of its Gramian where it is Gramian-based (all but Nash-MTL)."""
    aggregator = torchjd_aggregator(weighting)

    def aggregate(
        jacobian: torch.Tensor, losses: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weights = aggregator.weighting(jacobian)  # the losses are not TorchJD's business
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)
    if not isinstance(aggregator, torchjd.aggregation.GramianWeightedAggregator):
        return None
    return GramianRule(lambda gramian, losses: aggregator.gramian_weighting(gramian))


def bind_gradnorm(weighting: GradNorm) -> GramianRule:
    """Bind GradNorm's step: the rows' norms and the losses go to the host (one transfer), its
    weights ``w`` come back; Jacobian ``J`` -> (``w @ J``, ``w``); its rule reads the norms off the
    Gramian's diagonal."""
    k = len(weighting.tasks)

    def weights_of(norms: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([norms.detach(), losses.detach().reshape(-1).to(norms.dtype)])
        host = stats.to("cpu", torch.float64).numpy()
        weights = torch.as_tensor(weighting.step(host[:k], host[k:]), dtype=norms.dtype)
        return weights.to(norms.device)

    def aggregate(jacobian: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = weights_of(torch.linalg.vector_norm(jacobian, dim=1), losses)
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)
    return GramianRule(
        lambda gramian, losses: weights_of(torch.diagonal(gramian).clamp(min=0).sqrt(), losses)
    )


def bind_famo(weighting: FAMO) -> GramianRule:
    """Bind FAMO's step: the losses go to the host, its weights ``w`` come back; Jacobian ``J`` ->
    (``w @ J``, ``w``); its rule needs no Gramian."""

    def weights_of(losses: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        host = losses.detach().to("cpu", torch.float64).numpy()
        return torch.as_tensor(weighting.step(host), dtype=like.dtype).to(like.device)

    def aggregate(jacobian: torch.Tensor, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = weights_of(losses, jacobian)
        return weights @ jacobian, weights

    weighting.bind(lambda rows: torch.stack(list(rows)), aggregate)
    return GramianRule(lambda gramian, losses: weights_of(losses, losses.float()), needs_gramian=False)


def bind(weighting: GradientWeighting) -> GramianRule | None:
    """Bind ``weighting``'s aggregation (GradNorm's or FAMO's own step, else TorchJD's aggregator);
    its :class:`GramianRule`, or None where it needs the Jacobian."""
    if isinstance(weighting, GradNorm):
        return bind_gradnorm(weighting)
    if isinstance(weighting, FAMO):
        return bind_famo(weighting)
    return bind_torchjd(weighting)


def reusable(grad: torch.Tensor, owners: Counter) -> bool:
    """Whether ``grad`` (a tensor ``torch.autograd.grad`` returned) can be overwritten: its memory
    is its own (not a view, not expanded) and no other returned gradient shares it (autograd may
    hand one tensor to two weights, e.g. of ``p + q``); ``owners``: every returned gradient's
    ``data_ptr`` counted."""
    return grad._base is None and grad.is_contiguous() and owners[grad.data_ptr()] == 1


def gramian(
    per_task: Mapping[str, Sequence[torch.Tensor | None]], tasks: Sequence[str], shared
) -> torch.Tensor:
    """The tasks' Gramian over the weights ``shared`` (indices into each task's gradients):
    ``G[a, b] = sum_j <g_a[j], g_b[j]>`` (a task without a gradient of weight j adds nothing),
    from the gradients as they lie, without copying them into a Jacobian."""
    k = len(tasks)
    terms: dict[tuple[int, int], list[torch.Tensor]] = {}
    like = None
    for j in shared:
        users = [(i, per_task[t][j].reshape(-1)) for i, t in enumerate(tasks) if per_task[t][j] is not None]
        for position, (a, g_a) in enumerate(users):
            like = g_a
            for b, g_b in users[position:]:
                terms.setdefault((a, b), []).append(torch.dot(g_a, g_b))
    if like is None:
        return torch.zeros(k, k)
    matrix = like.new_zeros(k, k)
    for (a, b), values in terms.items():
        total = torch.stack(values).sum()
        matrix[a, b] = total
        matrix[b, a] = total
    return matrix


class GradientTrainer:
    """Mixed into the PyTorch training view: its step updates shared weights by :attr:`weighting`."""

    weighting: GradientWeighting
    task_slugs: Mapping[str, str]
    #: the method's weights from the Gramian (None: from the Jacobian, Nash-MTL)
    _gramian_rule: GramianRule | None = None

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
        if self._gramian_rule is not None:
            return self._combined_by_gramian(per_task, users, shared, grads, losses)
        sizes = [params[j].numel() for j in shared]
        jacobian = params[shared[0] if shared else 0].new_empty(len(tasks), sum(sizes))  # one copy
        for row, task in zip(jacobian, tasks, strict=True):
            for j, part in zip(shared, torch.split(row, sizes), strict=True):
                grad = per_task[task][j]  # copied as it lies (a reshape may copy it first)
                if grad is None:
                    part.zero_()
                else:
                    part.view(params[j].shape).copy_(grad)
        direction, weights = self._weigh(
            lambda: self.weighting.aggregate(jacobian, self._task_losses(losses)), losses
        )
        self._record_weights(weights)
        for j, part in zip(shared, torch.split(direction, sizes), strict=True):
            grads[j] = part.reshape(params[j].shape)
        return self._scaled_private(grads, users, dict(zip(tasks, weights, strict=True)))

    def _combined_by_gramian(self, per_task, users, shared, grads: list, losses) -> list:
        """:meth:`_combined_gradients` from the tasks' Gramian (:class:`GramianRule`): each shared
        weight's update ``sum_t w_t g_t``, summed in its first user's gradient where that tensor is
        autograd's alone (:func:`reusable`), else in a new one."""
        rule, tasks = self._gramian_rule, self.weighting.tasks
        matrix = gramian(per_task, tasks, shared) if rule.needs_gramian else None
        weights = self._weigh(lambda: rule.weights(matrix, self._task_losses(losses)), losses)
        self._record_weights(weights)
        w = dict(zip(tasks, weights.tolist(), strict=True))
        owners = Counter(g.data_ptr() for row in per_task.values() for g in row if g is not None)
        for j in shared:
            first, *rest = users[j]
            own = per_task[first][j]
            combined = own.mul_(w[first]) if reusable(own, owners) else own * w[first]
            for task in rest:
                combined.add_(per_task[task][j], alpha=w[task])
            grads[j] = combined
        return self._scaled_private(grads, users, w)

    def _scaled_private(self, grads: list, users, weight_of: Mapping[str, Any]) -> list:
        """``grads`` with each private weight's gradient times its task's weight where the method
        scales them (FAMO: the gradient of the weighted loss), else as they are."""
        if self.weighting.scales_private:
            for j, used_by in enumerate(users):
                if len(used_by) == 1:
                    grads[j] = grads[j] * weight_of[used_by[0]]
        return grads

    def _weigh(self, compute: Callable[[], Any], losses: Mapping[str, torch.Tensor]) -> Any:
        """``compute()``: the method's weights; where the step's losses are not finite, the run's
        :class:`~mtrl.errors.NonFiniteLossError` instead of what a method's solver raises on NaN
        gradients (e.g. IMTL-G's, CAGrad's, Aligned-MTL's linear algebra)."""
        try:
            return compute()
        except (RuntimeError, ValueError) as err:  # torch.linalg.LinAlgError is a RuntimeError
            if all(bool(torch.isfinite(value)) for value in losses.values()):
                raise
            raise nan_step_error(self) from err

    def _task_losses(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """The step's task losses as one vector in the tasks' order, for methods that read them."""
        if not self.weighting.uses_losses:
            return None
        return torch.stack([losses[self.task_slugs[task]].detach().float() for task in self.weighting.tasks])

    def _update_after_step(self, x, y, sample_weight, lean, device_type: str) -> None:
        """Hand the method the batch's task losses after the step (FAMO; in training mode, with
        dropout, as LibMTL computes them)."""
        with torch.no_grad():
            with self._autocast(device_type):
                predicted = self.fast_call(x, training=True)
            # the heads are float32: the loss needs no autocast (CUDA refuses BCE under it)
            after = lean.task_losses(y, predicted, sample_weight)
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
    rule = bind(weighting)
    base = type(trainer)
    trainer.__class__ = type(f"Gradient{base.__name__}", (GradientTrainer, base), {})
    trainer.weighting, trainer.task_slugs, trainer._gramian_rule = weighting, dict(slugs), rule
    trainer._epoch_weights, trainer._epoch_steps = None, 0
    return trainer
