"""Multi-task gains: target cells with adjusted tests, the trivial baseline, per-seed gains and the
literature's average relative improvement over all tasks of a coupling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtrl.stats.intervals import difference_row
from mtrl.stats.multiplicity import with_adjustment
from mtrl.stats.pairing import CELL_KEYS, paired_with_single
from mtrl.tasks import higher_is_better, primary_metric


def target_cells(
    comparison: pd.DataFrame, metric: str, split: str = "test", alpha: float = 0.05, method: str = "holm"
) -> pd.DataFrame:
    """Comparison rows of ``metric`` on ``split`` with adjusted p-values across the whole grid.

    Adds ``p_adjusted``, ``direction`` (``gain``: multi-task detectably better, ``loss``: detectably
    worse, ``none``) and ``relative_change`` (multi-task minus single-task mean over the single-task
    mean: the relative change of the metric itself, e.g. -0.1 = error 10% lower).
    """
    rows = comparison[(comparison["split"] == split) & (comparison["metric"] == metric)]
    if rows.empty:
        raise ValueError(f"comparison has no {metric!r} rows on split {split!r}")
    bounds = rows.assign(ci_low=rows["gain_ci_low"], ci_high=rows["gain_ci_high"])
    cells = with_adjustment(bounds, alpha, method, ("gain", "loss")).drop(columns=["ci_low", "ci_high"])
    stl = cells["stl_mean"].abs().replace(0.0, np.nan)
    cells["relative_change"] = (cells["mtl_mean"] - cells["stl_mean"]) / stl
    return cells


def baseline_cells(
    runs: pd.DataFrame,
    target: str,
    metric: str,
    split: str = "test",
    alpha: float = 0.05,
    method: str = "holm",
) -> pd.DataFrame:
    """Model vs its trivial baseline on the target, per run setting, paired by seed.

    ``margin`` is sign-adjusted (positive = the model beats the baseline); ``direction`` is ``better``,
    ``worse`` or ``none`` after adjusting the p-values across all settings.
    """
    rows = runs[(runs["task"] == target) & (runs["split"] == split) & (runs["metric"] == metric)]
    sign = 1.0 if higher_is_better(metric) else -1.0
    out = []
    for (kind, coupling, sharing, n_train), group in rows.groupby(
        ["kind", "coupling", "sharing", "n_train"], sort=False
    ):
        diff = difference_row(sign * group["value"], sign * group["baseline"])
        out.append(
            {
                "kind": kind,
                "coupling": coupling,
                "sharing": sharing,
                "n_train": n_train,
                "model_mean": float(group["value"].mean()),
                "baseline_mean": float(group["baseline"].mean()),
                **{("margin_" + k if k in ("mean", "sd") else k): v for k, v in diff.items()},
            }
        )
    return with_adjustment(pd.DataFrame(out), alpha, method, ("better", "worse"))


def seed_gains(runs: pd.DataFrame, target: str, metric: str, split: str = "test") -> pd.DataFrame:
    """Sign-adjusted multi-task minus single-task ``metric`` of the target, paired by size and seed."""
    rows = runs[(runs["task"] == target) & (runs["split"] == split) & (runs["metric"] == metric)]
    pairs = paired_with_single(rows)[[*CELL_KEYS, "seed", "value_mtl", "value_stl"]]
    sign = 1.0 if higher_is_better(metric) else -1.0
    return pairs.assign(gain=sign * (pairs["value_mtl"] - pairs["value_stl"])).reset_index(drop=True)


def task_relative_improvements(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per multi-task run and task: relative improvement over the single-task run of that task.

    On each task's primary metric (error or RMSE), paired by size and seed: (STL - MTL) / |STL| for
    lower-is-better metrics and (MTL - STL) / |STL| for higher-is-better ones.
    """
    rows = runs[runs["split"] == split]
    frames = []
    for task, task_rows in rows.groupby("task", sort=False):
        metric = primary_metric(task_rows)
        part = task_rows[task_rows["metric"] == metric]
        pairs = paired_with_single(part)[[*CELL_KEYS, "seed", "value_mtl", "value_stl"]]
        sign = 1.0 if higher_is_better(metric) else -1.0
        stl = pairs["value_stl"].abs().replace(0.0, np.nan)
        improvement = sign * (pairs["value_mtl"] - pairs["value_stl"]) / stl
        frames.append(pairs.assign(relative_improvement=improvement, task=task, metric=metric))
    if not frames:
        raise ValueError(f"no runs on split {split!r}")
    return pd.concat(frames, ignore_index=True)


def average_relative_improvement(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """The multi-task literature's average relative improvement: per run, the mean over its tasks.

    One row per (coupling, sharing, n_train, seed) with ``delta`` (mean relative improvement over the
    tasks of the coupling) and ``n_tasks`` (tasks it averages).
    """
    per_task = task_relative_improvements(runs, split)
    grouped = per_task.groupby([*CELL_KEYS, "seed"], sort=False)["relative_improvement"]
    return grouped.agg(delta="mean", n_tasks="count").reset_index()


def relative_improvement_summary(
    deltas: pd.DataFrame, alpha: float = 0.05, method: str = "holm"
) -> pd.DataFrame:
    """Per (coupling, sharing): mean average relative improvement over sizes and seeds, t test vs 0."""
    out = []
    for (coupling, sharing), group in deltas.groupby(["coupling", "sharing"], sort=False):
        values = group["delta"].to_numpy(dtype=float)
        out.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                **difference_row(values, np.zeros_like(values)),
                "n_seeds": group["seed"].nunique(),
                "n_sizes": group["n_train"].nunique(),
                "n_tasks": int(group["n_tasks"].max()),
            }
        )
    return with_adjustment(pd.DataFrame(out), alpha, method, ("gain", "loss"))


def largest_detectable_size(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (coupling, sharing) of ``target_cells``: the largest n_train with a detectable gain, else NA."""
    out = []
    for (coupling, sharing), group in cells.groupby(["coupling", "sharing"], sort=False):
        gains = group.loc[group["direction"] == "gain", "n_train"]
        out.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                "largest_n_train": int(gains.max()) if len(gains) else pd.NA,
            }
        )
    frame = pd.DataFrame(out, columns=["coupling", "sharing", "largest_n_train"])
    frame["largest_n_train"] = frame["largest_n_train"].astype("Int64")
    return frame
