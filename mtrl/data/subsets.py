"""Training subsets: nested, counted on the target task's labelled examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtrl.data.prepared import PreparedData


def training_rows(
    data: PreparedData,
    n_train: int,
    target: str,
    tasks: Sequence[str],
    auxiliary_use_all_labels: bool = False,
) -> np.ndarray:
    """Rows of the training subset of size ``n_train``.

    The subset holds the first ``n_train`` rows of the fixed training permutation that carry a
    ``target`` label, so subsets are nested across sizes. With ``auxiliary_use_all_labels`` the
    subset also holds every other training row that carries a label of one of ``tasks`` (its
    target label, if any, is then masked out by the caller so that ``n_train`` stays the target's
    count).
    """
    train = data.rows("train")
    target_labelled = ~np.isnan(data.labels(target, train))
    available = int(target_labelled.sum())
    if n_train > available:
        raise ValueError(
            f"train size {n_train} is larger than the {available} training examples that carry "
            f"a label of target task {target!r}; use train_sizes of at most {available}"
        )
    if n_train < 1:
        raise ValueError(f"train size {n_train} must be at least 1")
    chosen = train[target_labelled][:n_train]
    if not auxiliary_use_all_labels:
        return chosen
    others = [t for t in tasks if t != target]
    rest = np.setdiff1d(train, chosen, assume_unique=True)
    if not others:
        return chosen
    has_aux = np.zeros(len(rest), dtype=bool)
    for task in others:
        has_aux |= ~np.isnan(data.labels(task, rest))
    # keep the fixed permutation order of the training split
    keep = np.isin(train, np.concatenate([chosen, rest[has_aux]]))
    return train[keep]


def target_mask_rows(data: PreparedData, rows: np.ndarray, n_train: int, target: str) -> np.ndarray:
    """Boolean mask over ``rows``: True where the target label is used for training.

    Only the first ``n_train`` target-labelled rows of the training permutation keep their target
    label; others (auxiliary-only rows) are masked for the target task.
    """
    train = data.rows("train")
    target_labelled = train[~np.isnan(data.labels(target, train))][:n_train]
    return np.isin(rows, target_labelled)
