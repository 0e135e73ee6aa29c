"""Multi-task runs paired with their single-task partner: the one pairing every comparison uses."""

from __future__ import annotations

import pandas as pd

from mtrl.kinds import MULTITASK, SINGLE
from mtrl.numerics import NUMERICS_KEYS, numerics_label
from mtrl.tasks import task_slug

CELL_KEYS = ["coupling", "sharing", "n_train"]  # one cell of the study's grid
PAIR_KEYS = ["task", "split", "metric", "n_train", "seed"]  # what a multi-task row shares with its partner
SHOWN_PAIRS = 5  # mismatched pairs named in the error (then a count)


class NumericsMismatchError(ValueError):
    """A multi-task run and its single-task partner trained with different numerics."""


def paired_with_single(runs: pd.DataFrame) -> pd.DataFrame:
    """Every multi-task row of ``runs`` beside the value of its single-task partner.

    The partner is the single-task run of the same task, training size and seed, on the same split
    and metric. Returns the multi-task rows in their order with all their columns, ``value`` renamed
    ``value_mtl``, and the partner's ``value_stl``; rows without a partner are left out.

    :raises ValueError: when a task has more than one single-task run of one (n_train, seed).
    :raises NumericsMismatchError: when a pair's backend, precision or device (the columns of
        :data:`~mtrl.numerics.NUMERICS_KEYS` that ``runs`` has) differ, naming the pairs.
    """
    numerics = [key for key in NUMERICS_KEYS if key in runs]
    partner = {key: f"{key}_partner" for key in numerics}
    single = runs.loc[runs["kind"] == SINGLE, [*PAIR_KEYS, "value", *numerics]].rename(columns=partner)
    twice = single[single.duplicated(PAIR_KEYS)]
    if len(twice):
        raise ValueError(f"more than one single-task run of {twice['task'].iloc[0]!r} per (n_train, seed)")
    multi = runs[runs["kind"] == MULTITASK]
    merged = multi.merge(single, on=PAIR_KEYS, suffixes=("_mtl", "_stl"), how="inner")
    if numerics:
        differ = (merged[numerics].to_numpy() != merged[list(partner.values())].to_numpy()).any(axis=1)
        if differ.any():
            raise NumericsMismatchError(_mismatch_message(merged[differ], numerics))
    return merged.drop(columns=list(partner.values()))


def _mismatch_message(pairs: pd.DataFrame, numerics: list[str]) -> str:
    """Which multi-task runs and single-task partners differ in their numerics, and what to do."""

    def size_seed(row: pd.Series) -> str:
        return f"n{row['n_train']}/seed{row['seed']}"

    def label(row: pd.Series, suffix: str) -> str:
        return numerics_label(*(str(row.get(f"{key}{suffix}", "?")) for key in NUMERICS_KEYS))

    names = sorted(
        {
            f"multi-task run {row['coupling']}/{row['sharing']}/{size_seed(row)} ({label(row, '')}) "
            f"and its single-task partner single/{task_slug(row['task'])}/{size_seed(row)} "
            f"({label(row, '_partner')})"
            for _, row in pairs.iterrows()
        }
    )
    more = f"; and {len(names) - SHOWN_PAIRS} more pairs" if len(names) > SHOWN_PAIRS else ""
    return (
        f"refusing to compare runs trained with different numerics ({'/'.join(NUMERICS_KEYS)}): "
        f"{'; '.join(names[:SHOWN_PAIRS])}{more}. Retrain the odd runs in the study's numerics "
        "(numerics.json in the results folder): delete their metrics.json and rerun, on nodes of one kind"
    )
