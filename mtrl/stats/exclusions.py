"""Cells the study plan leaves out of the statistics (``tables/plan.csv``, :mod:`mtrl.data.plan`).

A (task, training size) whose training subset, validation or test split holds one class has runs that
trained, but no comparison on that task at that size means anything: the rows of that task at that
size leave every statistic, and the findings say why.
"""

from __future__ import annotations

import os

import pandas as pd

from mtrl.data.plan import ONE_CLASS, PLAN_COLUMNS


def read_plan(path: str | os.PathLike) -> pd.DataFrame:
    """``tables/plan.csv`` as written (task names and reasons as text, never read as missing values)."""
    plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise ValueError(f"{os.fspath(path)!r} is not a study plan: it lacks the columns {missing}")
    counts = ["n_train", "n_actual", "available"]
    return plan.astype(dict.fromkeys(counts, int))


def excluded(plan: pd.DataFrame | None) -> pd.DataFrame:
    """The plan's (``task``, ``n_train``, ``reason``) rows that the statistics leave out."""
    if plan is None or plan.empty:
        return pd.DataFrame(columns=["task", "n_train", "reason"])
    rows = plan.loc[plan["status"] == ONE_CLASS, ["task", "n_train", "reason"]]
    return rows.astype({"n_train": int}).reset_index(drop=True)


def without_excluded(runs: pd.DataFrame, plan: pd.DataFrame | None) -> pd.DataFrame:
    """``runs`` (a table with ``task`` and ``n_train`` columns) without the rows of excluded cells."""
    left_out = excluded(plan)
    if left_out.empty:
        return runs
    keys = pd.MultiIndex.from_frame(left_out[["task", "n_train"]])
    drop = pd.MultiIndex.from_frame(runs[["task", "n_train"]].astype({"n_train": int})).isin(keys)
    return runs[~drop]


def without_excluded_sizes(comparison: pd.DataFrame, plan: pd.DataFrame | None, target: str) -> pd.DataFrame:
    """Comparison rows (on ``target``) without the training sizes at which the target is left out."""
    left_out = excluded(plan)
    sizes = set(left_out.loc[left_out["task"] == target, "n_train"])
    return comparison[~comparison["n_train"].isin(sizes)] if sizes else comparison
