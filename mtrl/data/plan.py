"""The study plan: what each task of a study gets at each training size, known from the prepared data
before any training job runs (numpy only; no Keras).

Every task of a study has a single-task baseline per training size ``n``: it trains on the first ``n``
training rows that carry the task's label (the nested subsets of :mod:`mtrl.data.subsets`). The plan
holds one :class:`PlannedCell` per (task, requested size) with the size the run actually gets, the
class counts of its training subset and of the validation and test splits, and a status:

- :data:`OK`;
- :data:`CAPPED`: an auxiliary task carries fewer labelled training rows than ``n`` (sizes are chosen
  for the target); its baseline trains on all of them, and the study goes on;
- :data:`ONE_CLASS`: the training subset, the validation or the test split of a classification task
  holds fewer than two classes; its runs train, but the statistics leave the (task, size) out, since
  no comparison on it means anything;
- :data:`TOO_FEW`: the target carries fewer labelled training rows than ``n``: the user's error, the
  study stops after preparation (:func:`check_plan`);
- :data:`NO_LABELS`: a task without any labelled training row cannot be trained: the study stops.

Each cell also counts the task's labels among the target's training subset of that size
(``in_target_subset``): what a multi-task run gives an auxiliary task unless
``training.auxiliary_use_all_labels`` is on; none at all stops the study too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from mtrl.tasks import TaskSpec

OK = "ok"
CAPPED = "capped"
ONE_CLASS = "one-class"
TOO_FEW = "too-few-for-the-target"
NO_LABELS = "no-labels"
SPLITS = ("train", "val", "test")  # "train": the run's training subset, not the whole split
PLAN_COLUMNS = [
    "task",
    "n_train",
    "n_actual",
    "available",
    "in_target_subset",
    "status",
    "train_classes",
    "val_classes",
    "test_classes",
    "reason",
]


class PlanError(ValueError):
    """The prepared data cannot serve the study as configured (raised before any training job)."""


class LabelSource(Protocol):
    """What planning reads: task specs, label columns and the split (prepared data or its labels)."""

    @property
    def tasks(self) -> list[TaskSpec]: ...

    def rows(self, split: str) -> np.ndarray: ...

    def labels(self, task: str, rows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class PlannedCell:
    """One task at one requested training size, as the prepared data serve it."""

    task: str
    n_train: int  # requested
    n_actual: int  # labelled rows the single-task run trains on
    available: int  # labelled rows of the task in the training split
    in_target_subset: int  # its labels among the target's first n_train labelled training rows
    status: str
    classes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # per SPLITS; none for regression
    reason: str = ""

    @property
    def excluded(self) -> bool:
        """Whether the statistics leave this (task, size) out."""
        return self.status == ONE_CLASS

    def record(self) -> dict[str, object]:
        """The cell as a row of the plan table (:data:`PLAN_COLUMNS`; class counts as ``40/0``)."""
        counts = {f"{s}_classes": "/".join(map(str, self.classes.get(s, ()))) for s in SPLITS}
        return {
            "task": self.task,
            "n_train": self.n_train,
            "n_actual": self.n_actual,
            "available": self.available,
            "in_target_subset": self.in_target_subset,
            "status": self.status,
            **counts,
            "reason": self.reason,
        }


def labelled_training_values(source: LabelSource, task: str) -> np.ndarray:
    """The task's labels on the training rows that carry one, in the fixed training order."""
    y = source.labels(task, source.rows("train"))
    return y[~np.isnan(y)]


def training_size(source: LabelSource, task: str, n_train: int, cap: bool) -> int:
    """The size a run trains on: ``n_train``, or with ``cap`` at most the task's labelled training rows.

    Single-task baselines are capped (:data:`CAPPED`); a run that is not keeps ``n_train``, and
    :func:`mtrl.data.subsets.training_rows` names a size that is too large.
    """
    return min(n_train, len(labelled_training_values(source, task))) if cap else n_train


def class_counts(task: TaskSpec, y: np.ndarray) -> tuple[int, ...]:
    """How many of the labels ``y`` (NaN: none) fall in each class of ``task``, in class order."""
    y = y[~np.isnan(y)].astype(int)
    return tuple(int(c) for c in np.bincount(y, minlength=max(2, task.n_outputs)))


def count_words(task: TaskSpec, counts: Sequence[int]) -> str:
    """Class counts in words: ``40 negatives, 0 positives`` or ``Rock 12, Pop 0, Rap 3``."""
    if not sum(counts):
        return "no labelled row"
    if task.kind == "binary":
        return f"{counts[0]} negatives, {counts[1]} positives"
    return ", ".join(f"{name} {n}" for name, n in zip(task.classes, counts, strict=True))


def two_class_size(values: np.ndarray) -> int | None:
    """The smallest training size whose subset of ``values`` (in training order) has two classes."""
    differs = np.flatnonzero(values != values[0]) if len(values) else []
    return int(differs[0]) + 1 if len(differs) else None


def plan_cell(source: LabelSource, task: TaskSpec, n_train: int, target: str) -> PlannedCell:
    """The plan of ``task``'s single-task run at ``n_train``, and its labels in the ``target``'s subset."""
    is_target = task.name == target
    values = labelled_training_values(source, task.name)
    available = len(values)
    n_actual = min(n_train, available)
    train = source.rows("train")
    target_rows = train[~np.isnan(source.labels(target, train))][:n_train]
    in_target_subset = int(np.count_nonzero(~np.isnan(source.labels(task.name, target_rows))))
    cell = PlannedCell(task.name, n_train, n_actual, available, in_target_subset, OK)
    if available == 0:
        return replace(cell, status=NO_LABELS, reason=f"task `{task.name}` has no labelled training row")
    if n_train > available and is_target:
        why = f"target task `{task.name}` has {available} labelled training rows, fewer than n = {n_train}"
        return replace(cell, status=TOO_FEW, reason=why)
    reasons = []
    if n_train > available:
        cell = replace(cell, status=CAPPED)
        reasons.append(
            f"the single-task baseline of `{task.name}` at n = {n_train} trains on all {available} training "
            "rows that carry its label"
        )
    if task.is_classification:
        classes = {"train": class_counts(task, values[:n_actual])}
        classes |= {s: class_counts(task, source.labels(task.name, source.rows(s))) for s in ("val", "test")}
        cell = replace(cell, classes=classes)
        for split, counts in classes.items():
            if np.count_nonzero(counts) < 2:
                cell = replace(cell, status=ONE_CLASS)
                reasons.append(_one_class_words(task, split, n_actual, counts, two_class_size(values)))
    return replace(cell, reason="; ".join(reasons))


def _one_class_words(task: TaskSpec, split: str, n: int, counts: Sequence[int], both_from: int | None) -> str:
    has = "has one class" if sum(counts) else "has no labelled row"
    words = count_words(task, counts)
    if split != "train":
        return f"the {'validation' if split == 'val' else 'test'} split of `{task.name}` {has} ({words})"
    hint = f", both classes from n = {both_from} on" if both_from else ""
    return f"the training subset of `{task.name}` at n = {n} {has} ({words}{hint})"


def plan_study(
    source: LabelSource, tasks: Sequence[str], target: str, train_sizes: Sequence[int]
) -> list[PlannedCell]:
    """One :class:`PlannedCell` per task of the study (its single-task baselines) and requested size."""
    specs = {t.name: t for t in source.tasks}
    unknown = [t for t in tasks if t not in specs]
    if unknown:
        raise PlanError(f"tasks {unknown} are not in the prepared data (it has: {', '.join(specs)})")
    return [plan_cell(source, specs[t], int(n), target) for t in tasks for n in sorted(set(train_sizes))]


def check_plan(cells: Sequence[PlannedCell], target: str, auxiliary_from_target_rows: bool = False) -> None:
    """Stop a study the data cannot serve, naming the task, the size and the counts.

    ``auxiliary_from_target_rows``: every task of the plan is an auxiliary task of some multi-task run that
    learns only from the target's training subset (fixed couplings, ``auxiliary_use_all_labels`` off).

    :raises PlanError: when the target carries fewer labelled training rows than a requested size, a
        task has no labelled training row, no size of the target can be judged (every one is
        :data:`ONE_CLASS`), or (with ``auxiliary_from_target_rows``) an auxiliary task has no label in
        the target's training subset of some size.
    """
    too_large = [c for c in cells if c.status == TOO_FEW]
    if too_large:
        available = too_large[0].available
        raise PlanError(
            f"train_sizes {[c.n_train for c in too_large]} exceed the {available} training rows that carry a "
            f"label of target task {target!r}; use sizes of at most {available}"
        )
    for cell in cells:
        if cell.status == NO_LABELS:
            raise PlanError(
                f"task {cell.task!r} has no labelled row in the training split, so it cannot be trained; "
                "leave it out of the study"
            )
    if auxiliary_from_target_rows:
        _check_auxiliary_labels(cells, target)
    on_target = [c for c in cells if c.task == target]
    if on_target and all(c.excluded for c in on_target):
        reasons = dict.fromkeys(part for c in on_target for part in c.reason.split("; "))
        raise PlanError(
            f"no training size of target task {target!r} can be judged, so there is nothing to compare: "
            f"{'; '.join(reasons)}. Choose train_sizes whose training subsets hold both classes, or another "
            "target"
        )


def auxiliary_from_target_rows(config: Mapping[str, Any]) -> bool:
    """Whether every task of a (validated) study config learns, in a multi-task run, only from the target's
    training subset: fixed couplings (not ``auto``) and ``training.auxiliary_use_all_labels`` off."""
    return config["couplings"] != "auto" and not config["training"]["auxiliary_use_all_labels"]


def _check_auxiliary_labels(cells: Sequence[PlannedCell], target: str) -> None:
    """A multi-task run cannot train an auxiliary task without a label among its training rows."""
    empty: dict[str, list[int]] = {}
    for cell in cells:
        if cell.task != target and cell.in_target_subset == 0:
            empty.setdefault(cell.task, []).append(cell.n_train)
    if empty:
        listing = "; ".join(f"{task!r} at n = {', '.join(map(str, sizes))}" for task, sizes in empty.items())
        raise PlanError(
            f"auxiliary tasks without a label among the target {target!r}'s training rows, so that a "
            f"multi-task run cannot train them: {listing}; use larger train_sizes, or "
            "training.auxiliary_use_all_labels: true to let them learn from every training row that carries "
            "their label"
        )


def notes(cells: Sequence[PlannedCell]) -> list[str]:
    """One line per cell that is not :data:`OK`: its status, in words."""
    return [f"{c.status}: {c.reason}" for c in cells if c.status != OK]
