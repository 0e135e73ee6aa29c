"""The training loop of a stacked replicate group: one optimizer step for all, each replicate
with its own batch order, dropout masks, losses, history and early stopping.

Every quantity follows Keras's ``fit`` on the one-run path: the losses (Keras's own per-sample
functions, the mean over a batch's labelled rows), the history's keys and values (loss trackers
averaged over batches, weighted accuracy / RMSE), ``EarlyStopping(patience,
restore_best_weights=True)`` on the monitored validation loss, and Keras's Adam (its fused form,
:func:`mtrl.backends.torch.adam.fused_adam_update`). A replicate that stops leaves the stack (its
best weights kept); the others train on with the same arithmetic, as the replicates never mix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import torch

from mtrl.backends.torch.adam import fused_adam_update
from mtrl.backends.torch.nan_safe import nan_safe_loss
from mtrl.backends.torch.stacked.batches import StackedSplit
from mtrl.backends.torch.stacked.network import StackedNetwork
from mtrl.data.batches import EpochOrder, batch_positions, eval_batch_size
from mtrl.errors import NonFiniteLossError
from mtrl.model import HEAD_LOSS
from mtrl.tasks import TaskSpec


@dataclass
class ReplicateState:
    """One replicate's progress: its history and its early stopping."""

    seed: int
    order: EpochOrder
    generator: torch.Generator
    history: dict[str, list[float]] = field(default_factory=dict)
    best: float = math.inf
    best_weights: dict[str, torch.Tensor] | None = None
    wait: int = 0
    error: Exception | None = None


class StackedAdam:
    """Keras's Adam over stacked weights: a replicate's slice gets exactly its own update.

    The kernels on the input (one per replicate) are updated inside the backward pass, as soon
    as their gradient is known (:meth:`update`, called by the network): their gradients then
    share one block instead of R. The other weights are updated after it (:meth:`step`).
    """

    def __init__(self, params: Sequence[torch.Tensor], learning_rate: float) -> None:
        reference = keras.optimizers.Adam(learning_rate=learning_rate)
        self.lr, self.t = float(learning_rate), 0
        self.beta_1, self.beta_2, self.epsilon = reference.beta_1, reference.beta_2, reference.epsilon
        self.state = {id(p): (torch.zeros_like(p), torch.zeros_like(p)) for p in params}

    def begin(self) -> None:
        """Start a step (its number sets Adam's bias correction)."""
        self.t += 1

    def update(self, param: torch.Tensor, grad: torch.Tensor) -> None:
        """Update one weight of this step by ``grad``."""
        moment, velocity = self.state[id(param)]
        with torch.no_grad():
            fused_adam_update([param], [grad], [moment], [velocity], self.t, self.lr, *self._betas())

    def step(self, params: Sequence[torch.Tensor]) -> None:
        """Update ``params`` by their ``grad`` (the weights not updated in the backward pass)."""
        moments = [self.state[id(p)][0] for p in params]
        velocities = [self.state[id(p)][1] for p in params]
        with torch.no_grad():
            grads = [p.grad for p in params]
            fused_adam_update(list(params), grads, moments, velocities, self.t, self.lr, *self._betas())

    def _betas(self) -> tuple[float, float, float]:
        return self.beta_1, self.beta_2, self.epsilon

    def keep(self, network: StackedNetwork, slots: Sequence[int]) -> None:
        """The state of the replicates ``slots`` of ``network`` only (call before it keeps them)."""
        params = network.parameters()
        moments = network.select([self.state[id(p)][0] for p in params], slots)
        velocities = network.select([self.state[id(p)][1] for p in params], slots)
        network.keep(slots)
        self.state = {
            id(p): (m, v) for p, m, v in zip(network.parameters(), moments, velocities, strict=True)
        }


class EpochTotals:
    """Sums over an epoch's batches, per replicate slot, as Keras's trackers and metrics keep them."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, torch.Tensor | float] = {}

    def add(self, key: str, value: torch.Tensor, count: torch.Tensor | float = 1.0) -> None:
        value = value.detach().float()
        self.sums[key] = self.sums.get(key, 0) + value
        self.counts[key] = self.counts.get(key, 0) + count

    def results(self, prefix: str = "") -> dict[str, np.ndarray]:
        out = {}
        for key, total in self.sums.items():
            count = self.counts[key]
            value = torch.where(torch.as_tensor(count) == 0, 0.0, total / count)
            if key.endswith("rmse"):
                value = torch.sqrt(value)
            out[prefix + key] = value.cpu().numpy()
        return out


def _losses(tasks, y, y_pred, w, batch_size, weights, totals: EpochTotals):
    """Each slot's weighted total loss ``(R,)``; adds the per-task losses and metrics to ``totals``."""
    total = 0
    for task in tasks:
        p, target, sample = y_pred[task.slug], y[task.slug], w[task.slug]
        # Keras names a one-output model's metric plainly and keeps no loss tracker of the output
        prefix = f"{task.slug}_" if len(tasks) > 1 else ""
        fn = keras.losses.get(HEAD_LOSS[task.kind])
        per_sample = nan_safe_loss(fn, target.long() if task.kind == "multiclass" else target.to(p.dtype), p)
        value = torch.sum(per_sample * sample, dim=1) / float(batch_size)
        if prefix:
            totals.add(f"{prefix}loss", value)
        total = total + value * weights.get(task.name, 1.0)
        with torch.no_grad():
            if task.kind == "binary":
                hits = (target.reshape(p.shape) == (p > 0.5).to(target.dtype)).float().reshape(sample.shape)
                totals.add(f"{prefix}accuracy", torch.sum(hits * sample, 1), torch.sum(sample, 1))
            elif task.kind == "multiclass":
                hits = (target.reshape(sample.shape) == torch.argmax(p, dim=-1).to(target.dtype)).float()
                totals.add(f"{prefix}accuracy", torch.sum(hits * sample, 1), torch.sum(sample, 1))
            else:
                squares = torch.square(p - target.reshape(p.shape)).reshape(sample.shape)
                totals.add(f"{prefix}rmse", torch.sum(squares * sample, 1), torch.sum(sample, 1))
    totals.add("loss", total)
    return total


@dataclass(frozen=True)
class LoopSettings:
    """What the loop takes from the runs' spec (shared by the group)."""

    batch_size: int
    max_epochs: int
    patience: int
    monitor: str  # the history key early stopping watches
    learning_rate: float
    loss_weights: Mapping[str, float]


def train_stacked(
    network: StackedNetwork,
    train: StackedSplit,
    val: StackedSplit,
    tasks: Sequence[TaskSpec],
    states: Sequence[ReplicateState],
    settings: LoopSettings,
) -> None:
    """Train the replicates (slot k of ``network`` is ``states[k]``) until each stops early or
    ``max_epochs``; each state ends with its history and best weights (or its error)."""
    loop = StackedLoop(network, train, val, tasks, states, settings)
    for epoch in range(settings.max_epochs):
        loop.train_epoch()
        loop.end_epoch(epoch)
        if not loop.active or any(state.error is not None for state in states):
            return  # a failed replicate fails its group: the others need not train on
    loop.keep_last()


class StackedLoop:
    """The state of :func:`train_stacked`: the replicates still training and the optimizer."""

    def __init__(self, network, train, val, tasks, states, settings: LoopSettings) -> None:
        self.network, self.train, self.val, self.tasks = network, train, val, tasks
        self.states, self.settings = states, settings
        self.active = list(range(len(states)))
        self.adam = StackedAdam(network.parameters(), settings.learning_rate)
        network.on_input_gradient = self.adam.update
        self.autocast = torch.autocast(
            network.device.type,
            dtype=getattr(torch, network.autocast_dtype or "float32"),
            enabled=network.autocast_dtype is not None,
        )

    def train_epoch(self) -> None:
        """One epoch of every active replicate."""
        settings, train, states = self.settings, self.train, self.states
        self.totals = EpochTotals()
        for index in range(-(-train.n_rows // settings.batch_size)):
            positions = [
                batch_positions(train.n_rows, index, settings.batch_size, states[r].order.positions)
                for r in self.active
            ]
            x, y, w = train.batch(self.active, positions, settings.batch_size)
            with self.autocast:
                y_pred = self.network(x, True, [states[r].generator for r in self.active])
            # a replicate whose weights went non-finite gets a NaN loss (nan_safe_loss), hence
            # its error at the end of the epoch (_stops); the others train on
            total = _losses(self.tasks, y, y_pred, w, settings.batch_size, settings.loss_weights, self.totals)
            params = self.network.parameters(input_kernels=False)
            for p in params:
                p.grad = None
            self.adam.begin()
            total.sum().backward()  # updates the kernels on the input (StackedAdam.update)
            self.adam.step(params)
        for r in self.active:
            states[r].order.next_epoch()

    def end_epoch(self, epoch: int) -> None:
        """Log the epoch in each history, stop the replicates whose patience ran out."""
        logs = self.totals.results()
        logs.update(_validate(self.network, self.val, self.tasks, self.active, self.settings, self.autocast))
        stopping = [
            slot for slot, r in enumerate(self.active) if self._stops(self.states[r], slot, logs, epoch)
        ]
        if stopping:
            keep = [slot for slot in range(len(self.active)) if slot not in stopping]
            self.active = [self.active[slot] for slot in keep]
            if self.active:
                self.adam.keep(self.network, keep)

    def _stops(self, state: ReplicateState, slot: int, logs, epoch: int) -> bool:
        """Record the epoch's logs; whether the replicate stops (early, or on an error)."""
        for key, values in logs.items():
            state.history.setdefault(key, []).append(float(values[slot]))
        for key in ("loss", "val_loss"):
            if not math.isfinite(state.history[key][-1]):
                state.error = NonFiniteLossError(
                    f"{key} became {state.history[key][-1]} at epoch {epoch + 1}; lower "
                    "training.learning_rate or check the labels for extreme values"
                )
                return True
        current, state.wait = state.history[self.settings.monitor][-1], state.wait + 1
        if current < state.best:  # Keras's EarlyStopping(mode="min", restore_best_weights=True)
            state.best, state.wait = current, 0
            state.best_weights = self.network.replicate_weights(slot)
        return state.wait >= self.settings.patience and epoch > 0

    def keep_last(self) -> None:
        """Replicates that trained to ``max_epochs`` without improving keep their last weights."""
        for slot, r in enumerate(self.active):
            if self.states[r].best_weights is None:
                self.states[r].best_weights = self.network.replicate_weights(slot)


def _validate(network, val: StackedSplit, tasks, active, settings, autocast) -> dict[str, np.ndarray]:
    """The validation logs (``val_`` keys) of the replicates in ``active``: dropout off."""
    chunk = eval_batch_size(val.n_rows)
    totals = EpochTotals()
    with torch.no_grad():
        for index in range(-(-val.n_rows // chunk)):
            positions = [batch_positions(val.n_rows, index, chunk)] * len(active)
            x, y, w = val.batch(active, positions, chunk)
            with autocast:
                y_pred = network(x, False)
            _losses(tasks, y, y_pred, w, chunk, settings.loss_weights, totals)
    return totals.results(prefix="val_")
