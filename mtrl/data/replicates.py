"""What a replicate seed varies beyond initial weights and batch order (``replicates.vary``; no Keras).

A replicate seed always varies the initial weights, dropout and batch order (:data:`INIT`,
:data:`ORDER`). Following Bouthillier et al., "Accounting for Variance in Machine Learning
Benchmarks" (MLSys 2021), it may also vary

- :data:`SUBSET`: the training rows are dealt out again, so that a run's ``n`` training rows are a
  random draw from the training split (the training split is put in an order drawn from the seed:
  the first ``n`` target-labelled rows of that order, as :mod:`mtrl.data.subsets` reads them, are
  nested across sizes for one seed);
- :data:`SPLIT`: training, validation and test rows are drawn again from the labelled pool, with
  the sizes of the study's fixed split, stratified by the class of the study's target (so that both
  partners of a pair, and every run of one seed, see the same split). A re-drawn split deals out a
  new training split, so it implies :data:`SUBSET`.

The draw depends on the replicate seed, the study's target and the fixed split only: a multi-task
run and its single-task partner of the same seed and size train on the same rows and are tested on
the same rows. :func:`replicate_data` gives the prepared data as one replicate sees it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mtrl.data.dataset import Split
from mtrl.data.plan import ONE_CLASS, plan_cell

if TYPE_CHECKING:
    from mtrl.data.prepared import PreparedData

INIT = "init"
ORDER = "order"
SUBSET = "subset"
SPLIT = "split"
SOURCES = (INIT, ORDER, SUBSET, SPLIT)
ALWAYS = (INIT, ORDER)  # what every seed varies: initial weights (and dropout), batch order
_SALT = {SUBSET: 0x5B5E7, SPLIT: 0x5B117}  # independent draws for the subset and the split of a seed


class ReplicateDrawError(ValueError):
    """A replicate's drawn subset or split cannot serve a run that the study's fixed split serves."""


def check_vary(vary: Sequence[str], key: str = "replicates.vary") -> tuple[str, ...]:
    """``vary`` in :data:`SOURCES` order, or ValueError naming ``key``, the value and what is allowed."""
    unknown = [v for v in vary if v not in SOURCES]
    if unknown:
        raise ValueError(
            f"{key} = {list(vary)}: unknown source {unknown[0]!r}; choose from {', '.join(SOURCES)}"
        )
    missing = [v for v in ALWAYS if v not in vary]
    if missing:
        raise ValueError(
            f"{key} = {list(vary)} lacks {', '.join(missing)}: a seed always varies the initial weights "
            f"and the batch order, so the list must hold {', '.join(ALWAYS)}"
        )
    if SPLIT in vary and SUBSET not in vary:
        raise ValueError(
            f"{key} = {list(vary)}: a re-drawn split deals out a new training split, so the training "
            f"subset varies too; list {SUBSET} as well"
        )
    return tuple(v for v in SOURCES if v in vary)


def varies_data(vary: Sequence[str]) -> bool:
    """Whether ``vary`` changes the rows a run sees (:data:`SUBSET` or :data:`SPLIT`)."""
    return SUBSET in vary or SPLIT in vary


def replicate_split(data: PreparedData, seed: int, vary: Sequence[str], split_by: str) -> Split:
    """The split replicate ``seed`` sees: the fixed one, its training rows in a drawn order
    (:data:`SUBSET`), or a new draw from the labelled pool (:data:`SPLIT`).

    ``split_by``: the study's target. A re-drawn split keeps the sizes of the fixed validation and
    test splits and deals each class of a classification target out in proportion; rows without a
    ``split_by`` label outside the fixed validation and test splits stay training rows.
    """
    vary = check_vary(vary)
    fixed = data.split
    if SPLIT in vary:
        return _drawn_split(data, np.random.default_rng([seed, _SALT[SPLIT]]), split_by)
    if SUBSET in vary:
        rng = np.random.default_rng([seed, _SALT[SUBSET]])
        return Split(train=fixed.train[rng.permutation(len(fixed.train))], val=fixed.val, test=fixed.test)
    return fixed


def _drawn_split(data: PreparedData, rng: np.random.Generator, split_by: str) -> Split:
    """Validation and test rows drawn from the labelled pool, per class, with the fixed split's sizes."""
    fixed = data.split
    y = data.dataset.labels[split_by]
    in_pool = ~np.isnan(y)
    in_pool[fixed.val] = in_pool[fixed.test] = True
    pool = np.flatnonzero(in_pool)
    task = data.dataset.task(split_by)
    strata = y[pool] if task.is_classification else np.zeros(len(pool))
    strata = np.where(np.isnan(strata), -1, strata)  # unlabelled rows of the fixed val/test: a stratum
    classes, members = np.unique(strata, return_counts=True)
    n_val = _largest_remainder(len(fixed.val), members)
    n_test = _largest_remainder(len(fixed.test), members)
    val, test, rest = [], [], []
    for cls, k_val, k_test in zip(classes, n_val, n_test, strict=True):
        rows = rng.permutation(pool[strata == cls])
        val.append(rows[:k_val])
        test.append(rows[k_val : k_val + k_test])
        rest.append(rows[k_val + k_test :])
    train = np.concatenate([*rest, np.flatnonzero(~in_pool)])
    return Split(
        train=train[rng.permutation(len(train))].astype(np.int64),
        val=np.sort(np.concatenate(val)).astype(np.int64),
        test=np.sort(np.concatenate(test)).astype(np.int64),
    )


def _largest_remainder(total: int, members: np.ndarray) -> np.ndarray:
    """``total`` dealt out over strata in proportion to ``members`` (Hamilton's method), as integers."""
    quota = total * members / members.sum()
    counts = np.floor(quota).astype(int)
    extra = np.argsort(-(quota - counts), kind="stable")[: total - counts.sum()]
    counts[extra] += 1
    return counts


def replicate_data(data: PreparedData, seed: int, vary: Sequence[str], split_by: str) -> PreparedData:
    """``data`` as replicate ``seed`` sees it (:func:`replicate_split`); ``data`` itself when
    ``vary`` changes no rows. The features and labels are shared, not copied."""
    if not varies_data(check_vary(vary)):
        return data
    return dataclasses.replace(data, split=replicate_split(data, seed, vary, split_by))


def check_replicate_classes(
    fixed: PreparedData, drawn: PreparedData, tasks: Sequence[str], target: str, n_train: int, seed: int
) -> None:
    """Refuse a replicate draw that leaves a run without something the fixed split gives it.

    The study plan (:mod:`mtrl.data.plan`) is made on the fixed split. For each of the run's
    ``tasks`` at ``n_train`` (``target``: the run's target), as :func:`mtrl.data.plan.plan_cell`
    sees it: a classification task whose training subset, validation or test split holds one class
    in the draw but two on the fixed split, or an auxiliary task left without a label among the
    target's training rows, raises :class:`ReplicateDrawError` naming the seed.
    """
    if drawn is fixed:
        return
    specs = {t.name: t for t in fixed.tasks}
    for name in tasks:
        planned = plan_cell(fixed, specs[name], n_train, target)
        got = plan_cell(drawn, specs[name], n_train, target)
        if got.status == ONE_CLASS and planned.status != ONE_CLASS:
            raise ReplicateDrawError(
                f"seed {seed}: in this replicate's draw (replicates.vary) {got.reason}, while the study's "
                "fixed split, on which the study was planned, has both classes; use larger train_sizes, "
                "other seeds, or leave subset/split out of replicates.vary"
            )
        if name != target and got.in_target_subset == 0 < planned.in_target_subset:
            raise ReplicateDrawError(
                f"seed {seed}: in this replicate's draw (replicates.vary) auxiliary task {name!r} has no "
                f"label among the {n_train} training rows of target {target!r}; use larger train_sizes, "
                "other seeds, or leave subset/split out of replicates.vary"
            )
