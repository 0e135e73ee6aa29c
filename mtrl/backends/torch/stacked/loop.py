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
    stopped: bool = False
    error: Exception | None = None


class StackedAdam:
    """Keras's Adam over stacked weights: a replicate's slice gets exactly its own update."""

    def __init__(self, params: Sequence[torch.Tensor], learning_rate: float) -> None:
        reference = keras.optimizers.Adam(learning_rate=learning_rate)
        self.lr, self.t = float(learning_rate), 0
        self.beta_1, self.beta_2, self.epsilon = reference.beta_1, reference.beta_2, reference.epsilon
        self.moments = [torch.zeros_like(p) for p in params]
        self.velocities = [torch.zeros_like(p) for p in params]

    def step(self, params: Sequence[torch.Tensor]) -> None:
        self.t += 1
        with torch.no_grad():
            grads = [p.grad for p in params]
            fused_adam_update(
                list(params),
                grads,
                self.moments,
                self.velocities,
                self.t,
                self.lr,
                self.beta_1,
                self.beta_2,
                self.epsilon,
            )

    def keep(self, network: StackedNetwork, slots: Sequence[int]) -> None:
        """The moments of the replicates ``slots`` of ``network`` only (before it keeps them)."""
        self.moments = network.select(self.moments, slots)
        self.velocities = network.select(self.velocities, slots)


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
            out[prefix + key] = value.numpy()
        return out


def _losses(tasks, y, y_pred, w, batch_size, weights, totals: EpochTotals):
    """Each slot's weighted total loss ``(R,)``; adds the per-task losses and metrics to ``totals``."""
    total = 0
    for task in tasks:
        p, target, sample = y_pred[task.slug], y[task.slug], w[task.slug]
        # Keras names a one-output model's metric plainly and keeps no loss tracker of the output
        prefix = f"{task.slug}_" if len(tasks) > 1 else ""
        fn = keras.losses.get(HEAD_LOSS[task.kind])
        per_sample = fn(target.long() if task.kind == "multiclass" else target.to(p.dtype), p)
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


def train_stacked(
    network: StackedNetwork,
    train: StackedSplit,
    val: StackedSplit,
    tasks: Sequence[TaskSpec],
    states: Sequence[ReplicateState],
    *,
    batch_size: int,
    max_epochs: int,
    patience: int,
    monitor: str,
    learning_rate: float,
    loss_weights: Mapping[str, float],
) -> None:
    """Train the replicates (slot k of ``network`` is ``states[k]``) until each stops early or
    ``max_epochs``; each state ends with its history and best weights (or its error)."""
    device_type = network.device.type
    autocast = torch.autocast(
        device_type,
        dtype=getattr(torch, network.autocast_dtype or "float32"),
        enabled=network.autocast_dtype is not None,
    )
    adam = StackedAdam(network.parameters(), learning_rate)
    active = list(range(len(states)))
    steps = -(-train.n_rows // batch_size)
    for epoch in range(max_epochs):
        totals = EpochTotals()
        for index in range(steps):
            positions = np.stack(
                [batch_positions(train.n_rows, index, batch_size, states[r].order.positions) for r in active]
            )
            x, y, w = train.batch(active, positions, batch_size)
            with autocast:
                y_pred = network(x, True, [states[r].generator for r in active])
            try:
                total = _losses(tasks, y, y_pred, w, batch_size, loss_weights, totals)
            except RuntimeError as err:  # PyTorch's cross-entropy refuses NaN probabilities
                if "between 0 and 1" not in str(err):
                    raise
                _mark_non_finite(network, states, active, epoch)
                return
            params = network.parameters()
            for p in params:
                p.grad = None
            total.sum().backward()
            adam.step(params)
        for r in active:
            states[r].order.next_epoch()
        logs = totals.results()
        logs.update(_validate(network, val, tasks, active, loss_weights, autocast))
        stopping = []
        for slot, r in enumerate(active):
            state = states[r]
            for key, values in logs.items():
                state.history.setdefault(key, []).append(float(values[slot]))
            if not all(math.isfinite(state.history[k][-1]) for k in ("loss", "val_loss")):
                key = "loss" if not math.isfinite(state.history["loss"][-1]) else "val_loss"
                state.error = NonFiniteLossError(
                    f"{key} became {state.history[key][-1]} at epoch {epoch + 1}; lower "
                    "training.learning_rate or check the labels for extreme values"
                )
                stopping.append(slot)
                continue
            current = state.history[monitor][-1]
            state.wait += 1
            if current < state.best:
                state.best, state.wait = current, 0
                state.best_weights = network.replicate_weights(slot)
            if state.wait >= patience and epoch > 0:
                stopping.append(slot)
        if stopping:
            for slot in stopping:
                states[active[slot]].stopped = True
            keep = [slot for slot in range(len(active)) if slot not in stopping]
            active = [active[slot] for slot in keep]
            if not active:
                break
            adam.keep(network, keep)
            network.keep(keep)
    for slot, r in enumerate(active):  # trained to max_epochs: the best epoch's weights as well
        if states[r].best_weights is None:
            states[r].best_weights = network.replicate_weights(slot)


def _mark_non_finite(network: StackedNetwork, states, active: Sequence[int], epoch: int) -> None:
    """Give each replicate whose weights are no longer finite its error."""
    for slot, r in enumerate(active):
        if not all(bool(torch.isfinite(w).all()) for w in network.replicate_weights(slot).values()):
            states[r].error = NonFiniteLossError(
                f"loss became nan at epoch {epoch + 1} (the weights are no longer finite); lower "
                "training.learning_rate or check the labels for extreme values"
            )


def _validate(network, val: StackedSplit, tasks, active, loss_weights, autocast) -> dict[str, np.ndarray]:
    """The validation logs (``val_`` keys) of the replicates in ``active``: dropout off."""
    chunk = eval_batch_size(val.n_rows)
    totals = EpochTotals()
    with torch.no_grad():
        for index in range(-(-val.n_rows // chunk)):
            positions = np.tile(batch_positions(val.n_rows, index, chunk), (len(active), 1))
            x, y, w = val.batch(active, positions, chunk)
            with autocast:
                y_pred = network(x, False)
            _losses(tasks, y, y_pred, w, chunk, loss_weights, totals)
    return totals.results(prefix="val_")
