"""Names of the evaluation metrics per task kind, and the primary metric a study judges by.

Pure vocabulary (no numpy, no pandas): :mod:`mtrl.metrics` computes these metrics,
:func:`mtrl.tasks.primary_metric` picks one of them from a table and ``findings.metric``.
"""

from __future__ import annotations

import math

CLASSIFICATION_METRICS = ("accuracy", "error", "balanced_accuracy", "roc_auc", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
#: the metrics of each task kind, as ``metrics.json`` records them
METRICS_OF_KIND = {
    "binary": CLASSIFICATION_METRICS,
    "multiclass": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
#: every metric name, in the order of :data:`METRICS_OF_KIND`
METRIC_NAMES = CLASSIFICATION_METRICS + REGRESSION_METRICS
#: the metrics computed at a decision threshold (argmax, or ``training.threshold`` for binary tasks)
THRESHOLD_METRICS = ("accuracy", "error", "balanced_accuracy", "f1")

#: the closed range ``(low, high)`` of each metric's values, an infinite end where it is unbounded:
#: the interval of a metric's mean over seeds stays inside it
#: (:func:`mtrl.stats.intervals.bounded_mean_interval`)
METRIC_RANGES = {
    **dict.fromkeys(("accuracy", "error", "balanced_accuracy", "roc_auc", "f1"), (0.0, 1.0)),
    **dict.fromkeys(("log_loss", "rmse", "mae"), (0.0, math.inf)),
    "r2": (-math.inf, 1.0),
}

AUTO = "auto"
#: ``findings.metric: auto``: a ranking or proper scoring metric for classification, which sees
#: learning that error misses when runs predict the majority class
AUTO_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
#: the metric of a table that does not record its tasks' kinds (hand-made, or written before
#: ``runs.csv`` carried ``task_kind``): the former choice, error or RMSE
UNKNOWN_KIND_METRIC = "error"

LABELS = {
    "accuracy": "accuracy",
    "error": "error",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC-AUC",
    "f1": "F1",
    "log_loss": "log-loss",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R2",
}

_AUTO_REASONS = {
    "binary": "the target is binary; error cannot see learning when runs predict the majority class",
    "multiclass": (
        "the target is multiclass; a proper scoring rule sees learning that error misses when runs "
        "predict the majority class"
    ),
    "regression": "the target is a regression task",
}


def check_metric_setting(setting: str, kind: str | None) -> str:
    """``setting`` (``findings.metric``) if it is ``auto`` or a metric of ``kind``, else ValueError.

    ``kind`` None (not known yet) accepts any metric name. The message names the key, the value and
    the allowed names.
    """
    allowed = METRIC_NAMES if kind is None else METRICS_OF_KIND[kind]
    if setting != AUTO and setting not in allowed:
        of = "" if kind is None else f" of a {kind} target"
        raise ValueError(
            f"findings.metric = {setting!r} is not a metric{of}; use auto or one of {', '.join(allowed)}"
        )
    return setting


def resolve_metric(setting: str, kind: str | None) -> str:
    """The metric ``setting`` names for a target of ``kind`` (None: a table without task kinds)."""
    check_metric_setting(setting, kind)
    if setting != AUTO:
        return setting
    return AUTO_METRIC[kind] if kind is not None else UNKNOWN_KIND_METRIC


def metric_reason(metric: str, setting: str, kind: str | None) -> str:
    """Which metric judges the target and why, e.g. ``ROC-AUC: the target is binary; ...``."""
    label = LABELS.get(metric, metric)
    if setting != AUTO:
        return f"{label}: set by findings.metric"
    if kind is None:
        return f"{label}: the runs table does not record the target's kind"
    return f"{label}: {_AUTO_REASONS[kind]}"


def metric_range(metric: str) -> tuple[float, float]:
    """The range of ``metric``'s values (:data:`METRIC_RANGES`); ValueError naming an unknown metric."""
    try:
        return METRIC_RANGES[metric]
    except KeyError:
        raise ValueError(
            f"metric {metric!r} has no known range; the metrics are {', '.join(METRIC_NAMES)}"
        ) from None


def range_label(bounds: tuple[float, float]) -> str:
    """A range in interval notation: ``[0, 1]``, ``[0, inf)``, ``(-inf, 1]``."""
    low, high = bounds
    left = "(-inf" if math.isinf(low) else f"[{low:g}"
    right = "inf)" if math.isinf(high) else f"{high:g}]"
    return f"{left}, {right}"
