"""Train one run (multi-task or single-task), evaluate it and write its outputs.

The backend (:mod:`mtrl.backends`) is looked up once, by name; everything that differs between
backends happens behind it. Import this module only after :func:`mtrl.runtime.configure` has
chosen the backend.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # at import: the warm worker's server loads it once for every job

from mtrl import backends, weightings
from mtrl.architectures import architecture_of
from mtrl.calibration import NetworkShape
from mtrl.data.prepared import PreparedData, read_prepared
from mtrl.data.replicates import varies_data
from mtrl.errors import NonFiniteLossError
from mtrl.evaluation import evaluate_model
from mtrl.io import atomic_path, write_json
from mtrl.numerics import job_warnings
from mtrl.run_inputs import RunInputs, prepare_run_inputs
from mtrl.spec import RunSpec
from mtrl.tasks import TaskSpec

__all__ = ["NonFiniteLossError", "RunSpec", "network_builder", "train_run"]


def train_run(
    data: PreparedData | str | Path,
    spec: RunSpec,
    model_path: str | Path,
    history_path: str | Path,
    metrics_path: str | Path,
    backend: str,
    device_rows: bool | None = None,
    study_numerics: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Train, evaluate and write ``model.keras``, ``history.csv`` and ``metrics.json`` (last).

    ``data``: the prepared data or its file. ``device_rows``: JAX only (default: on an accelerator).
    ``study_numerics``: the study's resolved numerics (:mod:`mtrl.numerics`; :func:`run_precision`)."""
    impl = backends.get(backend)
    impl.uses_device_rows(device_rows)  # a ValueError now on a backend without device rows
    keras = impl.import_keras()

    t_start = time.perf_counter()
    impl.prepare_process()
    data = data if isinstance(data, PreparedData) else read_prepared(data)
    inputs = prepare_run_inputs(data, spec)  # inputs.data: the split the run's replicate sees
    input_dim = data.dataset.features.shape[1]
    precision = run_precision(impl, spec, input_dim, study_numerics)  # auto may train a little
    impl.seed(spec.training_seed)  # after it: every run draws from its own seed alone
    network = network_builder(spec, inputs.tasks, input_dim)
    model, trainer = impl.build_trainer(network, spec, inputs.tasks, precision, device_rows)
    monitor = monitor_of(spec, inputs, data)
    early = keras.callbacks.EarlyStopping(
        monitor=monitor, mode="min", patience=spec.patience, restore_best_weights=True
    )
    train_data, val_data = impl.fit_inputs(trainer, inputs.data, inputs, spec)
    t_fit = time.perf_counter()
    callbacks = [finite_loss_guard(), early]
    history = trainer.fit(
        train_data,
        validation_data=val_data,
        epochs=spec.max_epochs,
        callbacks=callbacks,
        verbose=0,
        # the batches already visit the rows in a new order each epoch (EpochOrder, from the
        # seed): Keras's own shuffle of their order would draw from Python's global random
        # stream, which no other path (JAX device rows, stacked replicates) can follow
        shuffle=False,
    ).history
    seconds = {"setup": t_fit - t_start, "training": time.perf_counter() - t_fit}
    paths = RunPaths(model_path, history_path, metrics_path)
    return finish_run(model, spec, inputs, history, monitor, paths, backend, precision, seconds)


@dataclass(frozen=True)
class RunPaths:
    """Where a run's outputs go."""

    model: str | Path
    history: str | Path
    metrics: str | Path


def finish_run(
    model,
    spec: RunSpec,
    inputs: RunInputs,
    history: Mapping[str, list[float]],
    monitor: str,
    paths: RunPaths,
    backend: str,
    precision: str,
    seconds: Mapping[str, float],
    group: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate a trained ``model`` and write ``history.csv``, ``model.keras`` and ``metrics.json``
    (last); return the ``metrics.json`` content. ``seconds``: the run's ``setup`` and ``training``
    time (the evaluation's and the saving's are measured here); ``group``: how its replicate group
    trained, for a run trained in one (:mod:`mtrl.group`)."""
    from mtrl.model import count_parameters, with_original_units

    t_evaluate = time.perf_counter()
    saved = with_original_units(model, inputs.tasks, inputs.scaling)
    metrics = _evaluate(saved, inputs, spec)
    t_save = time.perf_counter()
    write_history(history, paths.history)
    with atomic_path(paths.model, suffix=".keras") as tmp:
        saved.save(tmp)
    phases = {
        **seconds,
        "evaluation": t_save - t_evaluate,
        "saving": time.perf_counter() - t_save,
    }
    input_dim = inputs.data.dataset.features.shape[1]
    training = {
        **_training_summary(history, monitor, spec, phases),
        "parameters": count_parameters(input_dim, inputs.tasks, architecture_of(spec)),
        "train_rows": len(inputs.train_rows),
        **({"group": dict(group)} if group else {}),
    }
    device = backends.get(backend).device
    result = run_document(spec, inputs, backend, precision, training, metrics, device)
    write_json(paths.metrics, result)
    return result


def run_precision(
    impl: backends.Backend, spec: RunSpec, input_dim: int, study_numerics: Mapping[str, str] | None
) -> str:
    """The precision the run trains in (``spec.precision``; ``auto``: the backend's choice at the
    run's shapes), with a warning where it or the device differs from the study's numerics."""
    shape = NetworkShape(input_dim, tuple(spec.widths), tuple(spec.dropout), spec.batch_size)
    precision = impl.precision(spec.precision, shape)
    if study_numerics is not None:
        note = impl.hardware_note(precision)
        for warning in job_warnings(study_numerics, impl.name, precision, impl.device, note):
            logging.getLogger("mtrl").warning("%s", warning)
    return precision


def _evaluate(model, inputs: RunInputs, spec: RunSpec) -> dict[str, Any]:
    """The run's metrics on the validation and test splits its replicate sees
    (:func:`mtrl.evaluation.evaluate_model`), its baseline fitted on the labels it trained on, its
    decision thresholds as ``spec.threshold`` says."""
    transform, labels = spec.feature_transform, inputs.train_labels
    return evaluate_model(model, inputs.data, inputs.tasks, transform, labels, threshold=spec.threshold)


def _training_summary(
    history: Mapping[str, list[float]], monitor: str, spec: RunSpec, seconds: Mapping[str, float]
) -> dict[str, Any]:
    """Epochs, the best epoch, where the run's time went (``seconds``: per phase) and the weighting
    (:func:`mtrl.weightings.run_record`: nothing for equal weighting)."""
    epochs_trained = len(history["loss"])
    return {
        "epochs_trained": epochs_trained,
        "best_epoch": int(np.argmin(history[monitor])) + 1,
        "stopped_early": epochs_trained < spec.max_epochs,
        "training_seconds": round(seconds["training"], 3),
        "total_seconds": round(sum(seconds.values()), 3),
        # where the rest went: building the model and its inputs, the final evaluation of the
        # validation and test splits, writing history.csv and model.keras
        "setup_seconds": round(seconds["setup"], 3),
        "evaluation_seconds": round(seconds["evaluation"], 3),
        "saving_seconds": round(seconds["saving"], 3),
        **weightings.run_record(spec, history),
    }


def network_builder(spec: RunSpec, tasks: list[TaskSpec], input_dim: int) -> Callable[[], Any]:
    """The function that builds the run's network (called by the backend, under its dtype policy),
    its initial weights paired with the single-task partner's where ``spec.paired_init`` says so."""

    def build():
        from mtrl.model import build_model, paired_initial_weights

        model = build_model(input_dim=input_dim, tasks=tasks, architecture=architecture_of(spec))
        if spec.paired_init:
            target = next(t for t in tasks if t.name == spec.target)
            paired_initial_weights(model, spec.training_seed, target.slug)
        return model

    return build


def monitor_of(spec: RunSpec, inputs: RunInputs, data: PreparedData) -> str:
    """The validation loss early stopping watches: the target's, or the total (one task: both)."""
    if spec.monitor == "total" or len(inputs.tasks) == 1:
        return "val_loss"
    return f"val_{data.dataset.task(spec.target).slug}_loss"


def run_document(
    spec: RunSpec,
    inputs: RunInputs,
    backend: str,
    precision: str,
    training: Mapping[str, Any],
    metrics: Mapping[str, Any],
    device: str,
) -> dict[str, Any]:
    """The content of a run's ``metrics.json``: identity, training summary, labels, metrics.

    ``device``: the class of device the run trained on (``cpu``, ``cuda``, ``gpu``, ...).
    """
    return {
        "run": {
            **dict(spec.labels),
            "tasks": list(spec.tasks),
            "target": spec.target,
            "n_train": spec.n_train,
            "seed": spec.seed,
            # a further network of the seed's single-task baseline (network 0 records none)
            **({"network": spec.network} if spec.network else {}),
            # hard sharing: its "sharing_mask"; another architecture: its name and options
            **architecture_of(spec).describe(),
            "backend": backend,
            "precision": precision,
            "device": device,
            **_variation(spec),
        },
        "training": {**training, "n_train_actual": inputs.n_train_actual},
        "labelled": inputs.n_labelled,
        "scaling": {k: {"mean": m, "sd": s} for k, (m, s) in inputs.scaling.items()},
        "metrics": dict(metrics),
    }


def _variation(spec: RunSpec) -> dict[str, Any]:
    """What the run's seed varies and the task a re-drawn split is dealt by, and whether its initial
    weights are paired, recorded where they differ from the plain seed (so that such runs keep their
    ``metrics.json``); :mod:`mtrl.evaluate` reads them to evaluate on the run's own split."""
    recorded: dict[str, Any] = {"paired_init": True} if spec.paired_init else {}
    if varies_data(spec.vary):
        recorded |= {"vary": list(spec.vary), "split_by": spec.split_by or spec.target}
    return recorded


def write_history(history: Mapping[str, list[float]], path: str | Path) -> None:
    """Write the per-epoch losses and metrics of ``fit`` as ``history.csv`` (epoch first), raw:
    the aggregation adds the error columns (:func:`mtrl.aggregate.histories_table`)."""
    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def finite_loss_guard():
    """A Keras callback that stops the run with a clear error once an epoch's loss is not finite."""
    import keras

    class FiniteLossGuard(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            self.model.current_epoch = epoch  # for errors raised inside a step (PyTorch path)

        def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
            for key in ("loss", "val_loss"):
                value = (logs or {}).get(key)
                if value is not None and not math.isfinite(float(value)):
                    raise NonFiniteLossError(
                        f"{key} became {value} at epoch {epoch + 1}; lower training.learning_rate or "
                        "check the labels for extreme values"
                    )

    return FiniteLossGuard()
