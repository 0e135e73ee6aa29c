"""Predictions and metrics of a trained model on the splits of a prepared-data file.

Inference mode (dropout off) in float32, whatever the training precision; the first layer reads
the sparse word counts where the backend's prediction plan allows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtrl.data.batches import densify, eval_batch_size, transformed_rows
from mtrl.data.prepared import PreparedData
from mtrl.metrics import (
    FIXED_THRESHOLD,
    baseline_metrics,
    predicted_classes,
    task_metrics,
    validation_threshold,
)
from mtrl.tasks import TaskSpec


def sparse_plan(model):
    """The plan that predicts ``model``'s outputs from sparse rows, or None for dense chunks:
    the prediction plan of the backend Keras runs on (:meth:`mtrl.backends.base.Backend.prediction_plan`)."""
    import keras

    from mtrl import backends

    return backends.get(keras.backend.backend()).prediction_plan(model)


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


THRESHOLD_SETTINGS = ("fixed", "validation")  # training.threshold


def evaluate_model(
    model,
    data: PreparedData,
    tasks: Sequence[TaskSpec],
    transform: str,
    train_labels: Mapping[str, np.ndarray] | None = None,
    splits: Sequence[str] = ("val", "test"),
    threshold: str = "fixed",
) -> dict[str, dict[str, Any]]:
    """Per split and task: the model's metrics, the trivial baseline's and the labelled count.

    The baseline is fitted on ``train_labels`` (per task: the labels the run trained on; by default
    every label of the training split). Each entry also has the task's ``kind``, for classification
    the ``predicted_classes`` (1: the run collapsed to one class) and for a binary task the
    decision ``threshold`` of its threshold metrics: 0.5, or with ``threshold="validation"`` on the
    test split the one chosen on the validation predictions (:func:`decision_thresholds`).
    """
    if train_labels is None:
        train_labels = {t.name: data.labels(t.name, data.rows("train")) for t in tasks}
    plan = sparse_plan(model)  # once for all splits: it builds a view or copies weights
    needed = [*splits, "val"] if threshold == "validation" and "val" not in splits else splits
    outputs = {split: predict(model, data, data.rows(split), transform, plan=plan) for split in needed}
    val_labels = {t.name: data.labels(t.name, data.rows("val")) for t in tasks}
    thresholds = decision_thresholds(tasks, val_labels, outputs.get("val", {}), threshold)
    result: dict[str, dict[str, Any]] = {}
    for split in splits:
        rows = data.rows(split)
        result[split] = {}
        for task in tasks:
            y = data.labels(task.name, rows)
            chosen = thresholds.get(split, {}).get(task.name)
            result[split][task.name] = {
                "n": int(np.count_nonzero(~np.isnan(y))),
                "model": task_metrics(task, y, outputs[split][task.slug], chosen),
                "baseline": baseline_metrics(task, train_labels[task.name], y),
                **_decision(task, y, outputs[split][task.slug], chosen),
            }
    return result


def _decision(task: TaskSpec, y: np.ndarray, output: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """The fields of a task's entry that describe its predictions: kind, classes predicted, threshold."""
    fields: dict[str, Any] = {"kind": task.kind}
    if task.is_classification:
        fields["predicted_classes"] = predicted_classes(task, y, output, threshold)
    if task.kind == "binary":
        fields["threshold"] = FIXED_THRESHOLD if threshold is None else threshold
    return fields


def decision_thresholds(
    tasks: Sequence[TaskSpec],
    val_labels: Mapping[str, np.ndarray],
    val_outputs: Mapping[str, np.ndarray],
    setting: str,
) -> dict[str, dict[str, float]]:
    """Split -> binary task -> the decision threshold its threshold metrics use (absent: 0.5, the
    argmax, computed as before).

    ``fixed``: none. ``validation``: on the test split, the threshold maximising the balanced
    accuracy of the validation predictions (:func:`mtrl.metrics.validation_threshold`); the
    validation split itself keeps 0.5, since a threshold fitted to it would flatter its metrics.
    """
    if setting not in THRESHOLD_SETTINGS:
        raise ValueError(f"training.threshold = {setting!r} is not one of {', '.join(THRESHOLD_SETTINGS)}")
    if setting == "fixed":
        return {}
    binary = [t for t in tasks if t.kind == "binary"]
    return {"test": {t.name: validation_threshold(val_labels[t.name], val_outputs[t.slug]) for t in binary}}
