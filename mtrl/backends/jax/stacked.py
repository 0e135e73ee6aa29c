"""Replicate groups trained as one XLA program on JAX (:mod:`mtrl.group`): one call per epoch.

Each replicate is a run of the device-rows path (:mod:`mtrl.backends.jax.device_rows`): its own
Keras model built from its seed and compiled as one run's, its rows on the device, its batch order
(:class:`~mtrl.data.batches.EpochOrder`, as :class:`~mtrl.backends.jax.device_rows.RowBatches`
hands it to ``fit``). The replicates' states (weights, dropout seed states, Adam's and the
metrics' variables) are stacked along a leading axis and one ``jax.jit(jax.vmap(...))`` of a
``lax.scan`` over Keras's own ``train_step`` trains an epoch of all of them; the validation is one
more such call of ``test_step``. Histories, early stopping (Keras's ``EarlyStopping(mode="min",
restore_best_weights=True)``) and the finite-loss guard are kept per replicate on the host; a
replicate that stops is frozen (its lanes keep their state: its updates are masked) with its best
weights, and the others train on. Every architecture trains so, with a constant loss weighting.

Import only with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from mtrl.backends.jax.device_rows import DeviceModel, DeviceRows, RowBatches
from mtrl.data.batches import eval_batch_size
from mtrl.data.prepared import PreparedData
from mtrl.errors import NonFiniteLossError
from mtrl.group import replicate_errors, stack_setup, train_sequentially
from mtrl.spec import RunSpec

ENGINE = "stacked"


def group_engine(spec: RunSpec):
    """:func:`train_stacked_group` where ``spec``'s group can train so (a constant loss
    weighting: gradient methods and learned weightings train their own views), else None."""
    from mtrl import weightings

    weighting = weightings.weighting_of(spec)
    if not weighting.constant or weighting.uses_gradients:
        return None
    return train_stacked_group


@dataclass
class Replica:
    """One replicate: its run, its model (saved) and compiled trainer, its rows and progress."""

    spec: RunSpec
    inputs: Any  # mtrl.run_inputs.RunInputs
    model: Any
    trainer: DeviceModel
    batches: RowBatches  # the training batches' row positions, epoch by epoch
    monitor: str  # the history key early stopping watches
    history: dict[str, list[float]] = field(default_factory=dict)
    best: float | None = None
    best_weights: tuple[list, list] | None = None
    wait: int = 0
    stopped: bool = False
    error: Exception | None = None


def train_stacked_group(
    data: PreparedData,
    specs: Sequence[RunSpec],
    outputs: Sequence[Mapping[str, str | Path]],
    backend: str,
    study_numerics: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Train the group as one program and write each run's outputs (:func:`mtrl.group.train_group`)."""
    t_start = time.perf_counter()
    setup = stack_setup(data, specs, backend, study_numerics)
    if setup is None:
        return train_sequentially(data, specs, outputs, backend, study_numerics)
    precision = setup.precision
    replicas = []
    for spec, run_inputs in zip(specs, setup.inputs, strict=True):
        with replicate_errors(spec, specs):
            replicas.append(_replica(setup.impl, spec, run_inputs, setup.input_dim, precision))
    program = StackedProgram(replicas)
    t_fit = time.perf_counter()
    program.train()
    seconds = {"setup": t_fit - t_start, "training": time.perf_counter() - t_fit}
    for replica in replicas:
        if replica.error is not None:
            with replicate_errors(replica.spec, specs):
                raise replica.error
    return _write(replicas, outputs, backend, precision, seconds)


def _replica(impl, spec: RunSpec, inputs, input_dim: int, precision: str) -> Replica:
    """A replicate's model and compiled trainer, as :func:`mtrl.train.train_run` builds them on
    the device-rows path (same seed, so the same initial weights and dropout seeds)."""
    from mtrl.train import monitor_of, network_builder

    impl.seed(spec.training_seed)
    network = network_builder(spec, inputs.tasks, input_dim)
    model, trainer = impl.build_trainer(network, spec, inputs.tasks, precision, device_rows=True)
    if not isinstance(trainer, DeviceModel):
        raise TypeError(f"the stacked JAX engine trains device-rows models, got {type(trainer).__name__}")
    features, transform = inputs.data.dataset.features, spec.feature_transform
    trainer.bind(
        DeviceRows.of(features, inputs.train_rows, inputs.train_targets, transform),
        DeviceRows.of(features, inputs.data.rows("val"), inputs.val_targets, transform),
    )
    trainer._symbolic_build()  # the losses, metrics and Adam's variables, as fit builds them
    trainer.reset_metrics()
    batches = RowBatches(len(inputs.train_rows), spec.batch_size, shuffle=True, seed=spec.training_seed)
    # as on the one-run path, where Keras ends an epoch of the PyDataset after the batch its
    # symbolic build reads, before the first: epoch 1 visits the second order
    batches.on_epoch_end()
    monitor = monitor_of(spec, inputs, inputs.data)
    return Replica(spec, inputs, model, trainer, batches, monitor)


def stack_rows(rows: Sequence[DeviceRows]) -> DeviceRows:
    """The replicates' rows stacked along a leading axis (non-zeros padded to the widest)."""
    width = max(int(r.cols.shape[1]) for r in rows)

    def pad(a: jax.Array) -> jax.Array:
        return jnp.pad(a, ((0, 0), (0, width - a.shape[1])))

    padded = [DeviceRows(pad(r.cols), pad(r.values), r.targets, r.masks, r.n_cols, r.n_rows) for r in rows]
    return jax.tree.map(lambda *parts: jnp.stack(parts), *padded)


def _stack(parts: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *xs: jnp.stack(xs), *parts)


def _scanned(step, shared_blocks: bool):
    """One compiled call that runs ``step`` over every block of positions, for every replicate;
    a replicate whose ``active`` flag is off keeps its state."""

    def run(state, reset, blocks, rows, active):
        state = (*state, reset)

        def body(carry, positions):
            logs, carry = step(carry, rows.batch(positions))
            return carry, logs

        new, logs = jax.lax.scan(body, state, blocks)
        kept = jax.tree.map(lambda n, o: jnp.where(active, n, o), new[:-1], state[:-1])
        return jax.tree.map(lambda v: v[-1], logs), kept

    # the state's buffers are reused for the new state (donated); the metrics' reset values are not
    donate = () if shared_blocks else (0,)
    return jax.jit(jax.vmap(run, in_axes=(0, 0, None if shared_blocks else 0, 0, 0)), donate_argnums=donate)


class StackedProgram:
    """The replicates' stacked state and the two compiled calls that train and validate them."""

    def __init__(self, replicas: Sequence[Replica]) -> None:
        self.replicas = list(replicas)
        first = self.replicas[0]
        self.spec = first.spec
        trainers = [r.trainer for r in self.replicas]
        self.train_rows = stack_rows([t.bound_rows("train") for t in trainers])
        self.val_rows = stack_rows([t.bound_rows("validation") for t in trainers])
        self.weights = _stack([[v.value for v in t.trainable_variables] for t in trainers])
        self.fixed = _stack([[v.value for v in t.non_trainable_variables] for t in trainers])
        self.optimizer = _stack([[v.value for v in t.optimizer.variables] for t in trainers])
        self.reset = _stack([[v.value for v in t.metrics_variables] for t in trainers])
        self.train_epoch = _scanned(first.trainer.train_step, shared_blocks=False)
        self.validate = _scanned(first.trainer.test_step, shared_blocks=True)
        n_val = len(first.inputs.data.rows("val"))
        val = RowBatches(n_val, eval_batch_size(n_val), shuffle=False, seed=first.spec.training_seed)
        self.val_blocks = jnp.asarray(_epoch_blocks(val))

    def train(self) -> None:
        """Train every replicate until it stops early, fails, or reaches ``max_epochs``."""
        for epoch in range(self.spec.max_epochs):
            active = np.array([not (r.stopped or r.error) for r in self.replicas])
            if not active.any():
                break
            logs = self._epoch(jnp.asarray(active))
            for slot, replica in enumerate(self.replicas):
                if active[slot]:
                    self._end_epoch(replica, slot, {k: float(v[slot]) for k, v in logs.items()}, epoch)
            if any(r.error is not None for r in self.replicas):
                return  # a failed replicate fails its group: the others need not train on
        for slot, replica in enumerate(self.replicas):
            if replica.best_weights is None:
                replica.best_weights = self._weights_of(slot)

    def _epoch(self, active: jax.Array) -> dict[str, np.ndarray]:
        """One epoch of training and validation of all replicates: their logs, ``(R,)`` each."""
        blocks = jnp.asarray(np.stack([_epoch_blocks(r.batches) for r in self.replicas]))
        for replica in self.replicas:
            replica.batches.on_epoch_end()
        state = (self.weights, self.fixed, self.optimizer)
        logs, state = self.train_epoch(state, self.reset, blocks, self.train_rows, active)
        self.weights, self.fixed, self.optimizer = state
        state = (self.weights, self.fixed)
        val_logs, _ = self.validate(state, self.reset, self.val_blocks, self.val_rows, active)
        out = {k: np.asarray(v, dtype=np.float64) for k, v in logs.items()}
        out.update({f"val_{k}": np.asarray(v, dtype=np.float64) for k, v in val_logs.items()})
        return out

    def _end_epoch(self, replica: Replica, slot: int, logs: Mapping[str, float], epoch: int) -> None:
        """Record the epoch in the replicate's history; the finite-loss guard and early stopping."""
        for key, value in logs.items():
            replica.history.setdefault(key, []).append(value)
        for key in ("loss", "val_loss"):
            if key in logs and not math.isfinite(logs[key]):
                replica.error = NonFiniteLossError(
                    f"{key} became {logs[key]} at epoch {epoch + 1}; lower training.learning_rate or "
                    "check the labels for extreme values"
                )
                return
        current = logs[replica.monitor]
        if replica.best_weights is None:  # Keras: the first epoch's weights are the first best
            replica.best_weights = self._weights_of(slot)
        replica.wait += 1
        if replica.best is None or current < replica.best:  # Keras: the first epoch improves
            replica.best, replica.wait = current, 0
            replica.best_weights = self._weights_of(slot)
            return
        replica.stopped = replica.wait >= self.spec.patience and epoch > 0

    def _weights_of(self, slot: int) -> tuple[list, list]:
        """Replicate ``slot``'s variables now: its weights (Keras's ``get_weights``) and its other
        non-trainable variables (the dropout seed states, not saved)."""
        return [w[slot] for w in self.weights], [w[slot] for w in self.fixed]


def _epoch_blocks(batches: RowBatches) -> np.ndarray:
    """An epoch's batches of row positions (padded with -1), as ``fit`` reads them."""
    return np.stack([batches[index] for index in range(len(batches))])


def _write(
    replicas: Sequence[Replica], outputs, backend: str, precision: str, seconds
) -> list[dict[str, Any]]:
    """Each replicate's best weights into its model, written like any run's."""
    from mtrl.train import RunPaths, finish_run

    seeds = [r.spec.seed for r in replicas]
    group = {
        "engine": ENGINE,
        "seeds": seeds,
        "stack": seeds,
        "stack_training_seconds": round(seconds["training"], 3),
    }
    share = {phase: value / len(replicas) for phase, value in seconds.items()}
    specs = [r.spec for r in replicas]
    results = []
    for replica, out in zip(replicas, outputs, strict=True):
        with replicate_errors(replica.spec, specs):
            trainable, fixed = replica.best_weights
            for variable, value in zip(replica.trainer.trainable_variables, trainable, strict=True):
                variable.assign(value)
            for variable, value in zip(replica.trainer.non_trainable_variables, fixed, strict=True):
                variable.assign(value)
            paths = RunPaths(out["model"], out["history"], out["metrics"])
            args = (replica.spec, replica.inputs, replica.history, replica.monitor, paths, backend)
            results.append(finish_run(replica.model, *args, precision, share, group))
    return results
