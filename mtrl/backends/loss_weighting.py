"""Loss weights that change in training, on every backend, without recompiling.

A :class:`TaskLossWeights` layer of the training model holds one weight per task: non-trainable
weights that :class:`EpochLossWeights` (a Keras callback) sets at the start of each epoch from the
method's :meth:`~mtrl.weightings.base.Weighting.loss_weights` (DWA, RLW), or trainable
log-variances ``s_t`` whose weights are ``exp(-s_t)`` (UW, :attr:`~mtrl.weightings.base.Weighting.learned`).
The training model (:func:`loss_weighted_view`) multiplies each task's compiled loss by its current
weight at every step and adds the layer's regularisation (``sum(s_t)`` for UW), as a variable of
the model, so TensorFlow's and JAX's compiled steps read the weights of the moment. Per-task
losses in the logs stay unweighted; the callback adds ``weight_<task slug>`` to each epoch's logs
(``history.csv``). Import after :func:`mtrl.runtime.configure`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import keras
from keras import ops

from mtrl.weightings import WEIGHT_PREFIX
from mtrl.weightings.base import Weighting


class TaskLossWeights(keras.layers.Layer):
    """One loss weight per task (``slugs``, in the run's order): set per epoch, or learned."""

    def __init__(self, slugs: Sequence[str], learned: bool, **kwargs: Any) -> None:
        super().__init__(name="task_loss_weights", dtype="float32", **kwargs)
        self.slugs, self.learned = tuple(slugs), bool(learned)
        shape = (len(self.slugs),)
        if self.learned:
            self.log_variances = self.add_weight(shape=shape, initializer="zeros", name="log_variances")
        else:
            self.scales = self.add_weight(shape=shape, initializer="ones", trainable=False, name="scales")

    def current(self) -> Any:
        """The weights now (a tensor, one per task): ``exp(-s)`` or the scales set for the epoch."""
        return ops.exp(-self.log_variances) if self.learned else ops.convert_to_tensor(self.scales)

    def regularisation(self) -> Any:
        """What the method adds to the weighted loss: ``sum(s_t)`` (UW), else 0."""
        return ops.sum(self.log_variances) if self.learned else 0.0

    def set_weights_of_epoch(self, weights: Sequence[float]) -> None:
        """Set the per-epoch weights (methods that are not learned)."""
        if self.learned:
            raise ValueError("learned loss weights are trained, not set")
        self.scales.assign(ops.convert_to_tensor(list(map(float, weights)), dtype="float32"))

    def values(self) -> list[float]:
        """The weights now, as floats."""
        return [float(v) for v in ops.convert_to_numpy(self.current())]


@contextlib.contextmanager
def scaled_losses(compile_loss: Any, slugs: Sequence[str], weights: Any) -> Iterator[None]:
    """While inside, each output's compiled loss is multiplied by ``weights[i]`` (``slugs[i]``'s).

    A compiled loss not built yet (Keras's symbolic build of the losses) is left as it is.
    """
    flat = compile_loss._flat_losses
    if not flat:
        yield
        return
    index = {slug: i for i, slug in enumerate(slugs)}
    compile_loss._flat_losses = [entry._replace(loss_weights=weights[index[entry.path[0]]]) for entry in flat]
    try:
        yield
    finally:
        compile_loss._flat_losses = flat


class LossWeightedTrainer:
    """Mixed into a training model's class: its losses weighted by :attr:`task_loss_weights`.

    Wraps Keras's ``_compute_loss`` (every backend's train and test steps) and the PyTorch
    training view's ``_loss`` (:class:`~mtrl.backends.torch.autocast.AutocastModel`); ``fit``
    adds the callback that sets the weights each epoch and records them.
    """

    task_loss_weights: TaskLossWeights
    weighting: Weighting
    task_slugs: Mapping[str, str]

    def _compute_loss(self, *args: Any, **kwargs: Any) -> Any:
        return self._weighted(super()._compute_loss, *args, **kwargs)

    def _loss(self, *args: Any, **kwargs: Any) -> Any:
        return self._weighted(super()._loss, *args, **kwargs)

    def _weighted(self, loss_fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_weighting_loss", False):  # _loss calling _compute_loss: weighted once
            return loss_fn(*args, **kwargs)
        layer = self.task_loss_weights
        self._weighting_loss = True
        try:
            with scaled_losses(self._compile_loss, layer.slugs, layer.current()):
                total = loss_fn(*args, **kwargs)
        finally:
            self._weighting_loss = False
        return total + layer.regularisation()

    def fit(self, *args: Any, callbacks: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        own = EpochLossWeights(self.weighting, self.task_slugs, self.task_loss_weights)
        return super().fit(*args, callbacks=[own, *(callbacks or [])], **kwargs)


class EpochLossWeights(keras.callbacks.Callback):
    """Sets the method's weights at each epoch's start; logs ``weight_<slug>`` at its end.

    ``slugs``: task name -> its output's name. The method sees each task's mean training loss of
    every finished epoch (``<slug>_loss`` in the logs; ``loss`` for a one-task run).
    """

    def __init__(self, weighting: Weighting, slugs: Mapping[str, str], layer: TaskLossWeights) -> None:
        super().__init__()
        self.weighting, self.slugs, self.layer = weighting, dict(slugs), layer
        self.task_losses: dict[str, list[float]] = {task: [] for task in weighting.tasks}

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if not self.layer.learned:
            weights = self.weighting.loss_weights(epoch, self.task_losses)
            self.layer.set_weights_of_epoch([weights[task] for task in self.weighting.tasks])

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = {} if logs is None else logs
        single = len(self.weighting.tasks) == 1
        for task in self.weighting.tasks:
            key = "loss" if single else f"{self.slugs[task]}_loss"
            self.task_losses[task].append(float(logs[key]))
        for task, weight in zip(self.weighting.tasks, self.layer.values(), strict=True):
            logs[f"{WEIGHT_PREFIX}{self.slugs[task]}"] = weight


def loss_weighted_view(
    trainer: keras.Model, model: keras.Model, weighting: Weighting, slugs: Mapping[str, str]
):
    """``trainer`` training with ``weighting``'s loss weights (:class:`LossWeightedTrainer`).

    Where ``trainer`` is the saved ``model`` itself, a new functional model over its graph trains
    instead, so that the weights layer is not part of ``model.keras``. ``slugs``: task -> output.
    """
    if trainer is model:
        outputs = dict(zip(model.output_names, model.outputs, strict=True))
        trainer = keras.Model(inputs=model.inputs, outputs=outputs, name=model.name)
    base = type(trainer)
    trainer.__class__ = type(f"LossWeighted{base.__name__}", (LossWeightedTrainer, base), {})
    trainer.weighting, trainer.task_slugs = weighting, dict(slugs)
    trainer.task_loss_weights = TaskLossWeights([slugs[t] for t in weighting.tasks], weighting.learned)
    return trainer
