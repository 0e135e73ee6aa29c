"""The in-memory labelled corpus every data source produces, and the train/validation/test split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mtrl.tasks import TaskSpec


@dataclass
class Dataset:
    """Sparse bag-of-words features with per-task labels (NaN marks a missing label).

    Classification labels hold the class index (0/1 for binary); regression labels hold values
    in original units.
    """

    features: sp.csr_matrix
    labels: dict[str, np.ndarray]
    tasks: list[TaskSpec]
    ids: np.ndarray
    vocabulary: list[str] | None = None

    def __post_init__(self) -> None:
        n = self.features.shape[0]
        if len(self.ids) != n:
            raise ValueError(f"{len(self.ids)} ids for {n} feature rows")
        for task in self.tasks:
            if task.name not in self.labels:
                raise ValueError(f"task {task.name!r} has no label column")
            if len(self.labels[task.name]) != n:
                raise ValueError(f"task {task.name!r}: {len(self.labels[task.name])} labels for {n} rows")

    @property
    def n_rows(self) -> int:
        return self.features.shape[0]

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"unknown task {name!r}; available tasks: {', '.join(t.name for t in self.tasks)}")


@dataclass(frozen=True)
class Split:
    """Row indices of each split. ``train`` is in a fixed random order: its first n rows form the
    nested training subsets."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def make_split(
    n_rows: int, val_fraction: float, test_fraction: float, seed: int, stratify: np.ndarray | None = None
) -> Split:
    """Randomly split ``n_rows`` rows; validation and test are sorted, training stays permuted.

    ``stratify`` (optional) gives rows that must land in validation/test only when labelled:
    rows where it is NaN go to training (they can still serve auxiliary tasks).
    """
    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError(
            f"split fractions val={val_fraction}, test={test_fraction}: each must be in (0, 1) "
            "and their sum below 1"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_rows)
    if stratify is not None:
        labelled = order[~np.isnan(stratify[order])]
        unlabelled = order[np.isnan(stratify[order])]
    else:
        labelled, unlabelled = order, order[:0]
    n_val = round(val_fraction * len(labelled))
    n_test = round(test_fraction * len(labelled))
    val = np.sort(labelled[:n_val])
    test = np.sort(labelled[n_val : n_val + n_test])
    rest = np.concatenate([labelled[n_val + n_test :], unlabelled])
    train = rest[rng.permutation(len(rest))]
    return Split(train=train.astype(np.int64), val=val.astype(np.int64), test=test.astype(np.int64))


def labelled_count(labels: np.ndarray, rows: Sequence[int] | np.ndarray) -> int:
    """How many of ``rows`` carry a label."""
    return int(np.count_nonzero(~np.isnan(labels[np.asarray(rows)])))
