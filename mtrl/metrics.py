"""Evaluation metrics in plain numpy (checked against scikit-learn in the tests).

Classification: accuracy, error (1 - accuracy), balanced accuracy, ROC-AUC, F1 (binary: of the
positive class; multiclass: macro), log-loss. Regression: RMSE, MAE, R2. Each also for the trivial
baseline: the training split's majority class (with its class frequencies as probabilities) or the
training mean.
"""

from __future__ import annotations

import numpy as np

from mtrl.tasks import TaskSpec

CLASSIFICATION_METRICS = ("accuracy", "error", "balanced_accuracy", "roc_auc", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
_EPS = 1e-7


def metric_names(task: TaskSpec) -> tuple[str, ...]:
    return CLASSIFICATION_METRICS if task.is_classification else REGRESSION_METRICS


def class_probabilities(task: TaskSpec, scores: np.ndarray) -> np.ndarray:
    """``(n, n_classes)`` probabilities from a head's output (sigmoid column or softmax)."""
    scores = np.asarray(scores, dtype=np.float64)
    if task.kind == "binary":
        p = scores.reshape(-1)
        return np.stack([1.0 - p, p], axis=1)
    return scores.reshape(len(scores), -1)


def roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """ROC-AUC (one-vs-rest macro average for several classes); NaN if only one class occurs."""
    y = y.astype(int)
    classes = np.unique(y)
    if len(classes) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return _binary_auc(y == 1, proba[:, 1])
    return float(np.mean([_binary_auc(y == c, proba[:, c]) for c in classes]))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (``scipy.stats.rankdata``, without its
    0.6 s import in every training job)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Metrics of class probabilities ``proba`` (n, C) against class indices ``y``."""
    y = np.asarray(y).astype(int)
    n_classes = proba.shape[1]
    pred = proba.argmax(axis=1)
    accuracy = float(np.mean(pred == y))
    present = np.unique(y)
    recalls = [np.mean(pred[y == c] == c) for c in present]
    f1s = []
    # macro F1 over the classes that occur in the labels or the predictions (as scikit-learn does)
    for c in np.union1d(present, np.unique(pred)) if n_classes > 2 else [1]:
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    clipped = np.clip(proba, _EPS, 1 - _EPS)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "balanced_accuracy": float(np.mean(recalls)),
        "roc_auc": roc_auc(y, proba),
        "f1": float(np.mean(f1s)),
        "log_loss": float(-np.mean(np.log(clipped[np.arange(len(y)), y]))),
    }


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R2 of predictions against values, in the values' units."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    resid = y - pred
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "mae": float(np.mean(np.abs(resid))),
        "r2": float(1.0 - np.sum(resid**2) / ss_tot) if ss_tot > 0 else float("nan"),
    }


def task_metrics(task: TaskSpec, y: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """All metrics of ``task`` for a head's ``output`` on the rows that carry a label."""
    y = np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(y)
    if not keep.any():
        return {m: float("nan") for m in metric_names(task)}
    output = np.asarray(output)[keep]
    if task.is_classification:
        return classification_metrics(y[keep], class_probabilities(task, output))
    return regression_metrics(y[keep], output)


def baseline_metrics(task: TaskSpec, y_train: np.ndarray, y_eval: np.ndarray) -> dict[str, float]:
    """Metrics of the trivial baseline fitted on ``y_train`` (majority class / training mean)."""
    y_train = np.asarray(y_train, dtype=np.float64)
    y_train = y_train[~np.isnan(y_train)]
    n_eval = len(y_eval)
    if task.is_classification:
        n_classes = max(2, task.n_outputs)
        freq = np.bincount(y_train.astype(int), minlength=n_classes) / max(1, len(y_train))
        # the majority class gets a hair more mass so that argmax picks it on ties deterministically
        freq = freq + 1e-9 * (np.arange(n_classes) == freq.argmax())
        proba = np.tile(freq, (n_eval, 1))
        output = proba[:, 1:2] if task.kind == "binary" else proba
    else:
        output = np.full((n_eval, 1), y_train.mean())
    return task_metrics(task, y_eval, output)
