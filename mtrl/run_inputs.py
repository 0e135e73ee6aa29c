"""The arrays of one run: its training subset, standardised targets and label masks (no Keras)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtrl.data.batches import TaskTargets
from mtrl.data.class_weights import with_class_weights
from mtrl.data.plan import training_size
from mtrl.data.prepared import PreparedData
from mtrl.data.replicates import check_replicate_classes, replicate_data
from mtrl.data.subsets import target_mask_rows, training_rows
from mtrl.kinds import SINGLE
from mtrl.spec import RunSpec
from mtrl.tasks import TaskSpec


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
    n_train_actual: int  # target labels trained on: n_train, or fewer for a capped single-task run
    data: PreparedData  # the prepared data as the run's replicate sees them (its split: replicates.vary)


def prepare_run_inputs(data: PreparedData, spec: RunSpec) -> RunInputs:
    """Select the training subset, standardise regression targets on it and build label masks.

    The rows come from the split the run's replicate sees
    (:func:`mtrl.data.replicates.replicate_data`: the fixed split unless ``spec.vary`` lists
    ``subset`` or ``split``), kept in :attr:`RunInputs.data` for training and evaluation. A
    single-task run whose task carries fewer labelled training rows than ``n_train`` trains on all
    of them (:data:`mtrl.data.plan.CAPPED`); a multi-task run needs ``n_train`` target labels.
    """
    tasks = [data.dataset.task(name) for name in spec.tasks]
    if spec.target not in spec.tasks:
        raise ValueError(f"target task {spec.target!r} is not among the run's tasks {list(spec.tasks)}")
    fixed = data
    data = replicate_data(fixed, spec.seed, spec.vary, spec.split_by or spec.target)
    n_train = training_size(data, spec.target, spec.n_train, cap=spec.labels.get("kind") == SINGLE)
    check_replicate_classes(fixed, data, spec.tasks, spec.target, spec.n_train, spec.seed)
    rows = training_rows(data, n_train, spec.target, spec.tasks, spec.auxiliary_use_all_labels)
    target_keep = target_mask_rows(data, rows, n_train, spec.target)
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
    train_targets = with_class_weights(train_targets, tasks, train_labels, spec.class_weight)
    return RunInputs(
        tasks, rows, train_targets, val_targets, scaling, n_labelled, train_labels, n_train, data
    )


def _targets(task: TaskSpec, y: np.ndarray, scaling: tuple[float, float] | None) -> TaskTargets:
    mask = ~np.isnan(y)
    values = np.where(mask, y, 0.0)
    if scaling is not None:
        values = np.where(mask, (values - scaling[0]) / scaling[1], 0.0)
    if task.kind == "multiclass":
        return TaskTargets(values.astype(np.int32), mask)
    return TaskTargets(values.astype(np.float32).reshape(-1, 1), mask)
