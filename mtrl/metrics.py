"""Evaluation metrics in plain numpy (checked against scikit-learn in the tests).

Classification: accuracy, error (1 - accuracy), balanced accuracy, ROC-AUC, F1 (binary: of the
positive class; multiclass: macro), log-loss. Regression: RMSE, MAE, R2. Each also for the trivial
baseline: the training split's majority class (with its class frequencies as probabilities) or the
training mean. The threshold metrics (accuracy, error, balanced accuracy, F1) of a binary task can
use a decision threshold other than 0.5 (:func:`validation_threshold` chooses one), and
:func:`predicted_classes` counts the classes a head predicts (1: it collapsed to one class).
"""

from __future__ import annotations

import numpy as np

from mtrl.metric_names import CLASSIFICATION_METRICS, REGRESSION_METRICS
from mtrl.tasks import TaskSpec

_EPS = 1e-7
FIXED_THRESHOLD = 0.5  # the argmax of a sigmoid head's two class probabilities


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


def predictions(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Predicted class indices: the argmax of ``proba`` (n, C), or for two classes with a
    ``threshold``, class 1 where its probability exceeds it (0.5 is the argmax)."""
    if threshold is None:
        return proba.argmax(axis=1)
    if proba.shape[1] != 2:
        raise ValueError(f"a decision threshold needs two classes, got {proba.shape[1]}")
    return (proba[:, 1] > threshold).astype(int)


def classification_metrics(
    y: np.ndarray, proba: np.ndarray, threshold: float | None = None
) -> dict[str, float]:
    """Metrics of class probabilities ``proba`` (n, C) against class indices ``y``.

    The threshold metrics predict the argmax, or with ``threshold`` (two classes) class 1 where its
    probability exceeds it (:func:`predictions`).
    """
    y = np.asarray(y).astype(int)
    n_classes = proba.shape[1]
    pred = predictions(proba, threshold)
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


def task_metrics(
    task: TaskSpec, y: np.ndarray, output: np.ndarray, threshold: float | None = None
) -> dict[str, float]:
    """All metrics of ``task`` for a head's ``output`` on the rows that carry a label.

    ``threshold``: the decision threshold of a binary task's threshold metrics (None: the argmax,
    i.e. 0.5).
    """
    y = np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(y)
    if not keep.any():
        return {m: float("nan") for m in metric_names(task)}
    output = np.asarray(output)[keep]
    if task.is_classification:
        return classification_metrics(y[keep], class_probabilities(task, output), threshold)
    return regression_metrics(y[keep], output)


def predicted_classes(
    task: TaskSpec, y: np.ndarray, output: np.ndarray, threshold: float | None = None
) -> int | None:
    """How many distinct classes a classification head predicts on the labelled rows (at
    ``threshold``, or the argmax): 1 means the run collapsed to one class. None for regression."""
    if not task.is_classification:
        return None
    keep = ~np.isnan(np.asarray(y, dtype=np.float64))
    proba = class_probabilities(task, np.asarray(output)[keep])
    return len(np.unique(predictions(proba, threshold)))


def validation_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The decision threshold of a binary head that maximises balanced accuracy on ``(y, score)``.

    Candidates are 0.5 and the midpoints between consecutive distinct scores (class 1 is predicted
    where the score exceeds the threshold); of equally good ones the closest to 0.5 wins, so that 0.5
    stays when nothing beats it. Labels without both classes give 0.5.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    keep = ~np.isnan(y)
    y, score = y[keep].astype(int), score[keep]
    positive, negative = np.sort(score[y == 1]), np.sort(score[y == 0])
    if len(positive) == 0 or len(negative) == 0:
        return FIXED_THRESHOLD
    distinct = np.unique(score)
    candidates = np.r_[FIXED_THRESHOLD, (distinct[1:] + distinct[:-1]) / 2]
    true_positive = len(positive) - np.searchsorted(positive, candidates, side="right")
    true_negative = np.searchsorted(negative, candidates, side="right")
    balanced = (true_positive / len(positive) + true_negative / len(negative)) / 2
    best = np.flatnonzero(balanced == balanced.max())
    return float(candidates[best[np.argmin(np.abs(candidates[best] - FIXED_THRESHOLD))]])


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
