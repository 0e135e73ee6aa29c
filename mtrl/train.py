"""Train one run (multi-task or single-task), evaluate it and write its outputs.

Import this module only after :func:`mtrl.runtime.configure` has chosen the backend.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtrl.data.batches import BatchSource, EpochOrder, TaskTargets, densify, transformed_rows
from mtrl.data.prepared import PreparedData
from mtrl.data.subsets import target_mask_rows, training_rows
from mtrl.io import atomic_path, write_json
from mtrl.metrics import baseline_metrics, task_metrics
from mtrl.precision import resolve_precision
from mtrl.runtime import import_keras, keep_freed_memory, set_seed
from mtrl.tasks import TaskSpec
from mtrl.worker import cached_prepared

EVAL_BATCH = 1024  # at most this many rows per evaluation batch (validation, predictions)


def eval_batch_size(n_rows: int, limit: int = EVAL_BATCH) -> int:
    """Rows per evaluation batch: as even as possible, so that padding the last batch wastes little."""
    n_batches = max(1, -(-n_rows // limit))
    return max(1, -(-n_rows // n_batches))


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run."""

    tasks: Sequence[str]
    target: str
    n_train: int
    seed: int
    sharing_mask: Sequence[bool]
    widths: Sequence[int] = (1024, 512, 256, 128)
    dropout: Sequence[float] = (0.0, 0.0, 0.5, 0.5)
    activation: str = "relu"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 100
    patience: int = 5
    monitor: str = "target"  # early stopping on the target's validation loss, or "total"
    loss_weights: Mapping[str, float] = field(default_factory=dict)
    auxiliary_use_all_labels: bool = False
    feature_transform: str = "log1p"
    precision: str = "auto"  # auto | float32 | bfloat16 (see mtrl.precision)
    labels: Mapping[str, Any] = field(default_factory=dict)  # run identity written to metrics.json


@dataclass
class RunInputs:
    """The arrays of one run: task specs, rows of each split and standardised training targets."""

    tasks: list[TaskSpec]
    train_rows: np.ndarray
    train_targets: dict[str, TaskTargets]
    val_targets: dict[str, TaskTargets]
    scaling: dict[str, tuple[float, float]]
    n_labelled: dict[str, dict[str, int]]
    train_labels: dict[str, np.ndarray]  # per task name, original units, NaN where not trained on


def prepare_run_inputs(data: PreparedData, spec: RunSpec) -> RunInputs:
    """Select the training subset, standardise regression targets on it and build label masks."""
    tasks = [data.dataset.task(name) for name in spec.tasks]
    if spec.target not in spec.tasks:
        raise ValueError(f"target task {spec.target!r} is not among the run's tasks {list(spec.tasks)}")
    rows = training_rows(data, spec.n_train, spec.target, spec.tasks, spec.auxiliary_use_all_labels)
    target_keep = target_mask_rows(data, rows, spec.n_train, spec.target)
    scaling: dict[str, tuple[float, float]] = {}
    train_targets, val_targets = {}, {}
    n_labelled: dict[str, dict[str, int]] = {}
    train_labels: dict[str, np.ndarray] = {}
    val_rows = data.rows("val")
    for task in tasks:
        y_train = data.labels(task.name, rows).copy()
        if task.name == spec.target:
            y_train[~target_keep] = np.nan
        train_labels[task.name] = y_train
        y_val = data.labels(task.name, val_rows)
        labelled = y_train[~np.isnan(y_train)]
        if len(labelled) == 0:
            raise ValueError(f"task {task.name!r} has no labelled example in the training subset")
        if task.kind == "regression":
            mean, sd = float(labelled.mean()), float(labelled.std())
            scaling[task.name] = (mean, sd if sd > 0 else 1.0)
        train_targets[task.slug] = _targets(task, y_train, scaling.get(task.name))
        val_targets[task.slug] = _targets(task, y_val, scaling.get(task.name))
        n_labelled[task.name] = {
            "train": len(labelled),
            "val": int(np.count_nonzero(~np.isnan(y_val))),
            "test": int(np.count_nonzero(~np.isnan(data.labels(task.name, data.rows("test"))))),
        }
    return RunInputs(tasks, rows, train_targets, val_targets, scaling, n_labelled, train_labels)


def _targets(task: TaskSpec, y: np.ndarray, scaling: tuple[float, float] | None) -> TaskTargets:
    mask = ~np.isnan(y)
    values = np.where(mask, y, 0.0)
    if scaling is not None:
        values = np.where(mask, (values - scaling[0]) / scaling[1], 0.0)
    if task.kind == "multiclass":
        return TaskTargets(values.astype(np.int32), mask)
    return TaskTargets(values.astype(np.float32).reshape(-1, 1), mask)


def _keras_dataset(source: BatchSource, shuffle: bool, seed: int):
    import keras

    class CsrBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False)
            self.order = EpochOrder(len(source.rows), shuffle, seed)

        def __len__(self) -> int:
            return len(source)

        def __getitem__(self, index: int):
            return source.batch(index, self.order.positions)

        def on_epoch_end(self) -> None:
            self.order.next_epoch()

    return CsrBatches()


def sparse_plan(model):
    """The plan that predicts ``model``'s outputs from sparse rows, or None for dense chunks.

    On PyTorch on a CPU, :class:`mtrl.torch_training.TorchSparsePlan` (the whole network through
    the lean float32 forward pass); on TensorFlow, :mod:`mtrl.sparse_predict` (a SciPy first layer,
    the rest through Keras). On JAX the dense product is one XLA program, compiled once and cached
    across runs, and was measured faster than a sparse first layer plus a second program.
    """
    import keras

    from mtrl.sparse_predict import sparse_first_layer_plan

    backend = keras.backend.backend()
    if backend == "torch" and _device(backend) == "cpu":
        from mtrl.torch_training import TorchSparsePlan

        return TorchSparsePlan.of(model)
    return sparse_first_layer_plan(model) if backend != "jax" else None


_PLAN_UNSET = object()


def predict(
    model,
    data: PreparedData,
    rows: np.ndarray,
    transform: str,
    batch_size: int | None = None,
    plan=_PLAN_UNSET,
) -> dict[str, np.ndarray]:
    """Model outputs (inference mode: dropout off, float32) for ``rows``, chunk by chunk.

    On PyTorch and TensorFlow the first layer reads the sparse word counts directly where the
    model allows it (``plan``, by default :func:`sparse_plan`: the split's predictions 2-4x
    faster, equal to float rounding); otherwise chunks are densified. Chunks for Keras are padded
    to one size, so that one compiled function serves them all.
    """
    batch_size = batch_size or eval_batch_size(len(rows))
    if plan is _PLAN_UNSET:
        plan = sparse_plan(model)
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        if plan is not None:
            out = plan.predict(transformed_rows(data.dataset.features, part, transform), batch_size)
        else:
            out = model.predict_on_batch(densify(data.dataset.features, part, transform, n_rows=batch_size))
        for slug, value in out.items():
            chunks.setdefault(slug, []).append(np.asarray(value, dtype=np.float64)[: len(part)])
    return {slug: np.concatenate(parts) for slug, parts in chunks.items()}


def evaluate_model(
    model,
    data: PreparedData,
    tasks: Sequence[TaskSpec],
    transform: str,
    train_labels: Mapping[str, np.ndarray] | None = None,
    splits: Sequence[str] = ("val", "test"),
) -> dict[str, dict[str, Any]]:
    """Per split and task: the model's metrics, the trivial baseline's and the labelled count.

    The baseline is fitted on ``train_labels`` (per task: the labels the run trained on; by default
    every label of the training split).
    """
    if train_labels is None:
        train_labels = {t.name: data.labels(t.name, data.rows("train")) for t in tasks}
    result: dict[str, dict[str, Any]] = {}
    plan = sparse_plan(model)  # once for all splits: it builds a view or copies weights
    for split in splits:
        rows = data.rows(split)
        outputs = predict(model, data, rows, transform, plan=plan)
        result[split] = {}
        for task in tasks:
            y = data.labels(task.name, rows)
            result[split][task.name] = {
                "n": int(np.count_nonzero(~np.isnan(y))),
                "model": task_metrics(task, y, outputs[task.slug]),
                "baseline": baseline_metrics(task, train_labels[task.name], y),
            }
    return result


def build_trainer(
    spec: RunSpec,
    tasks: Sequence[TaskSpec],
    input_dim: int,
    backend: str,
    precision: str,
    device_rows: bool = False,
):
    """``(model, trainer)``: the network and the compiled model to ``fit`` in ``precision``.

    ``trainer`` is ``model`` itself, except on PyTorch, where it is a view of the same layers
    with the autocast training step and the fused Adam update (:mod:`mtrl.torch_training`), and
    on JAX with ``device_rows`` (:func:`uses_device_rows`), where it is a view that trains from
    rows kept on the device, one compiled call per epoch (:mod:`mtrl.jax_training`).
    On JAX and TensorFlow, bfloat16 is Keras's ``mixed_bfloat16`` policy. ``model`` stays a plain
    functional model: save that one.
    """
    from mtrl.architectures import architecture_of
    from mtrl.model import build_model, compile_model

    with _dtype_policy("mixed_bfloat16" if precision == "bfloat16" and backend != "torch" else None):
        model = build_model(input_dim=input_dim, tasks=tasks, architecture=architecture_of(spec))
    trainer, optimizer = model, spec.optimizer
    if backend == "torch":
        from mtrl.torch_training import autocast_view, fast_optimizer

        trainer = autocast_view(model, "bfloat16" if precision == "bfloat16" else None)
        optimizer = fast_optimizer(spec.optimizer, spec.learning_rate) or spec.optimizer
    elif device_rows:
        from mtrl.jax_training import device_view

        trainer = device_view(model)
    compile_model(trainer, tasks, optimizer, spec.learning_rate, spec.loss_weights)
    return model, trainer


def uses_device_rows(backend: str) -> bool:
    """Whether runs keep their rows on the accelerator and train one call per epoch.

    That is JAX on an accelerator (:mod:`mtrl.jax_training`; :func:`mtrl.runtime.configure` lets
    JAX see NVIDIA GPUs): 3.7-5.8x faster epochs on an H200. Each (network, number of batches) compiles
    its own epoch program, so a run's first compile costs more than on the host path. On a CPU it
    stays off: the default JAX study took as long with it (340 vs 343 s on 2 cores: its short runs
    spend the epochs saved on compiling) and gave identical metrics in all 132 runs.
    """
    if backend != "jax":
        return False
    from mtrl.jax_training import on_accelerator

    return on_accelerator()


def reads_sparse_batches(trainer, backend: str) -> bool:
    """Whether ``trainer`` is fed each batch's non-zeros instead of a dense batch.

    The PyTorch training path on a CPU reads the words directly (:mod:`mtrl.torch_training`);
    every other path gets dense batches.
    """
    return bool(getattr(trainer, "reads_sparse_batches", False)) and _device(backend) == "cpu"


def train_run(
    data_path: str | Path,
    spec: RunSpec,
    model_path: str | Path,
    history_path: str | Path,
    metrics_path: str | Path,
    backend: str,
    device_rows: bool | None = None,
) -> dict[str, Any]:
    """Train, evaluate and write ``model.keras``, ``history.csv`` and ``metrics.json`` (last).

    ``device_rows``: train from rows kept on the device (JAX only; default :func:`uses_device_rows`).
    """
    if device_rows and backend != "jax":
        raise ValueError(f"device_rows trains on JAX only, not on backend {backend!r}")
    keras = import_keras(backend)

    from mtrl.architectures import architecture_of
    from mtrl.model import count_parameters, with_original_units

    t_start = time.perf_counter()
    if backend == "torch":
        keep_freed_memory()  # this job's process only (a warm worker's child; not the server)
    set_seed(spec.seed, backend)
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    precision = resolve_precision(spec.precision, backend, _device(backend))
    if backend == "torch" and spec.precision == "auto" and precision == "float32":
        logging.getLogger("mtrl").info(
            "precision auto: this CPU has no AVX512-BF16/AMX, so PyTorch trains in float32 "
            "(the default study: 1.6x the bfloat16 time, still faster than JAX; README, Performance)"
        )
    data = cached_prepared(data_path)  # the warm worker's parsed copy, else read from disk
    inputs = prepare_run_inputs(data, spec)
    features = data.dataset.features
    if device_rows is None:
        device_rows = uses_device_rows(backend)
    model, trainer = build_trainer(spec, inputs.tasks, features.shape[1], backend, precision, device_rows)
    target_slug = data.dataset.task(spec.target).slug
    monitor = "val_loss" if spec.monitor == "total" or len(inputs.tasks) == 1 else f"val_{target_slug}_loss"
    early = keras.callbacks.EarlyStopping(
        monitor=monitor, mode="min", patience=spec.patience, restore_best_weights=True
    )
    guard = _FiniteLossGuard()
    train_data, val_data = _fit_inputs(trainer, data, inputs, spec, backend, device_rows)
    t_fit = time.perf_counter()
    history = trainer.fit(
        train_data,
        validation_data=val_data,
        epochs=spec.max_epochs,
        callbacks=[guard, early],
        verbose=0,
    )
    training_seconds = time.perf_counter() - t_fit
    epochs_trained = len(history.history["loss"])
    best_epoch = int(np.argmin(history.history[monitor])) + 1

    t_evaluate = time.perf_counter()
    saved = with_original_units(model, inputs.tasks, inputs.scaling)
    metrics = evaluate_model(saved, data, inputs.tasks, spec.feature_transform, inputs.train_labels)

    t_save = time.perf_counter()
    _write_history(history.history, history_path)
    with atomic_path(model_path, suffix=".keras") as tmp:
        saved.save(tmp)
    t_saved = time.perf_counter()
    result = {
        "run": {
            **dict(spec.labels),
            "tasks": list(spec.tasks),
            "target": spec.target,
            "n_train": spec.n_train,
            "seed": spec.seed,
            "sharing_mask": [int(v) for v in spec.sharing_mask],
            "backend": backend,
            "precision": precision,
        },
        "training": {
            "epochs_trained": epochs_trained,
            "best_epoch": best_epoch,
            "stopped_early": epochs_trained < spec.max_epochs,
            "training_seconds": round(training_seconds, 3),
            "total_seconds": round(time.perf_counter() - t_start, 3),
            # where the rest went: building the model and its inputs, the final evaluation of the
            # validation and test splits, writing history.csv and model.keras
            "setup_seconds": round(t_fit - t_start, 3),
            "evaluation_seconds": round(t_save - t_evaluate, 3),
            "saving_seconds": round(t_saved - t_save, 3),
            "parameters": count_parameters(features.shape[1], inputs.tasks, architecture_of(spec)),
            "train_rows": len(inputs.train_rows),
        },
        "labelled": inputs.n_labelled,
        "scaling": {k: {"mean": m, "sd": s} for k, (m, s) in inputs.scaling.items()},
        "metrics": metrics,
    }
    write_json(metrics_path, result)
    return result


def _fit_inputs(
    trainer, data: PreparedData, inputs: RunInputs, spec: RunSpec, backend: str, device_rows: bool
):
    """The training and validation data that ``trainer.fit`` reads, in the path's form."""
    features, val_rows = data.dataset.features, data.rows("val")
    val_batch = eval_batch_size(len(val_rows))
    if device_rows:
        from mtrl.jax_training import DeviceRows, RowBatches

        trainer.bind(
            DeviceRows.of(features, inputs.train_rows, inputs.train_targets, spec.feature_transform),
            DeviceRows.of(features, val_rows, inputs.val_targets, spec.feature_transform),
        )
        train = RowBatches(len(inputs.train_rows), spec.batch_size, shuffle=True, seed=spec.seed)
        val = RowBatches(len(val_rows), val_batch, shuffle=False, seed=spec.seed)
        trainer.steps_per_execution = max(len(train), len(val))  # one compiled call per epoch
        return train, val
    sparse = reads_sparse_batches(trainer, backend)
    train_source = BatchSource(
        features, inputs.train_rows, inputs.train_targets, spec.batch_size, spec.feature_transform, sparse
    )
    val_source = BatchSource(
        features, val_rows, inputs.val_targets, val_batch, spec.feature_transform, sparse
    )
    return (
        _keras_dataset(train_source, shuffle=True, seed=spec.seed),
        _keras_dataset(val_source, shuffle=False, seed=spec.seed),
    )


def _device(backend: str) -> str:
    """``cuda`` where PyTorch trains on a CUDA GPU, else ``cpu``."""
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cpu"  # precision "auto" is float32 on the other backends whatever the device


@contextlib.contextmanager
def _dtype_policy(name: str | None) -> Iterator[None]:
    """Build layers under Keras dtype policy ``name`` (e.g. ``mixed_bfloat16``), then restore it."""
    import keras

    if name is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def train_run_json(
    data_path: str,
    spec: dict[str, Any],
    model_path: str,
    history_path: str,
    metrics_path: str,
    backend: str,
) -> None:
    """:func:`train_run` with the run given as ``RunSpec`` keyword arguments (for the warm worker)."""
    train_run(data_path, RunSpec(**spec), model_path, history_path, metrics_path, backend)


def _write_history(history: Mapping[str, list[float]], path: str | Path) -> None:
    import pandas as pd

    from mtrl.aggregate import add_error_columns

    frame = add_error_columns(pd.DataFrame(history))
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _finite_loss_guard_base():
    import keras

    return keras.callbacks.Callback


class _FiniteLossGuard(_finite_loss_guard_base()):  # type: ignore[misc]
    """Stop the run with a clear error as soon as an epoch's loss is NaN or infinite."""

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.model.current_epoch = epoch  # for errors raised inside a step (mtrl.torch_training)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        for key in ("loss", "val_loss"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(float(value)):
                raise NonFiniteLossError(
                    f"{key} became {value} at epoch {epoch + 1}; lower training.learning_rate or "
                    "check the labels for extreme values"
                )
