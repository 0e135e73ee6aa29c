"""Multi-task runs paired with their single-task partner: the one pairing every comparison uses."""

from __future__ import annotations

import pandas as pd

from mtrl.kinds import MULTITASK, SINGLE

CELL_KEYS = ["coupling", "sharing", "n_train"]  # one cell of the study's grid
PAIR_KEYS = ["task", "split", "metric", "n_train", "seed"]  # what a multi-task row shares with its partner


def paired_with_single(runs: pd.DataFrame) -> pd.DataFrame:
    """Every multi-task row of ``runs`` beside the value of its single-task partner.

    The partner is the single-task run of the same task, training size and seed, on the same split
    and metric. Returns the multi-task rows in their order with all their columns, ``value`` renamed
    ``value_mtl``, and the partner's ``value_stl``; rows without a partner are left out.

    :raises ValueError: when a task has more than one single-task run of one (n_train, seed).
    """
    single = runs.loc[runs["kind"] == SINGLE, [*PAIR_KEYS, "value"]]
    twice = single[single.duplicated(PAIR_KEYS)]
    if len(twice):
        raise ValueError(f"more than one single-task run of {twice['task'].iloc[0]!r} per (n_train, seed)")
    multi = runs[runs["kind"] == MULTITASK]
    return multi.merge(single, on=PAIR_KEYS, suffixes=("_mtl", "_stl"), how="inner")
