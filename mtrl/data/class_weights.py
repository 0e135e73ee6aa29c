"""Class weights of a run's classification tasks (``training.class_weight``), as per-row weights.

``balanced`` weighs class ``c`` by ``n / (k * n_c)`` (``n`` labelled training rows, ``k`` classes
present among them, ``n_c`` rows of class ``c``): scikit-learn's ``class_weight="balanced"``
formula (King and Zeng 2001), here in numpy since scikit-learn is no runtime dependency. Every
class then carries the same total weight, and the weights average 1 over the labelled rows. The
training batches multiply them into their label-mask weights (:class:`mtrl.data.batches.TaskTargets`);
validation keeps unweighted losses, as Keras's ``class_weight`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mtrl.data.batches import TaskTargets
from mtrl.tasks import TaskSpec

CLASS_WEIGHTS = ("none", "balanced")


def balanced_class_weights(labels: np.ndarray) -> np.ndarray:
    """Per class index, from 0 to the largest label: ``n / (k * n_c)`` over the labelled entries
    of ``labels`` (NaN = unlabelled); 0 for a class absent from them."""
    labels = np.asarray(labels, dtype=np.float64)
    present = labels[~np.isnan(labels)].astype(np.int64)
    if len(present) == 0:
        raise ValueError("class weights need at least one labelled example")
    counts = np.bincount(present)
    k = np.count_nonzero(counts)
    weights = np.zeros(len(counts), dtype=np.float64)
    seen = counts > 0
    weights[seen] = len(present) / (k * counts[seen])
    return weights


def balanced_row_weights(labels: np.ndarray) -> np.ndarray:
    """Each row's class weight (:func:`balanced_class_weights`) as float32; 0 where unlabelled."""
    labels = np.asarray(labels, dtype=np.float64)
    labelled = ~np.isnan(labels)
    weights = balanced_class_weights(labels)
    rows = np.zeros(len(labels), dtype=np.float32)
    rows[labelled] = weights[labels[labelled].astype(np.int64)]
    return rows


def with_class_weights(
    targets: Mapping[str, TaskTargets],
    tasks: Sequence[TaskSpec],
    train_labels: Mapping[str, np.ndarray],
    setting: str,
) -> dict[str, TaskTargets]:
    """``targets`` (per task slug) with the row weights of ``setting`` on its classification tasks,
    computed on each task's ``train_labels`` (per task name, aligned with the targets' rows)."""
    if setting not in CLASS_WEIGHTS:
        raise ValueError(f"training.class_weight = {setting!r} is not one of {', '.join(CLASS_WEIGHTS)}")
    out = dict(targets)
    if setting == "none":
        return out
    for task in tasks:
        if task.is_classification:
            target = out[task.slug]
            weights = balanced_row_weights(train_labels[task.name])
            out[task.slug] = TaskTargets(target.values, target.mask, weights)
    return out
