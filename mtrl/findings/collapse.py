"""Runs that collapsed to one class: the settings where the target's predictions never vary.

A run that predicts one class for every test example has the majority baseline's error whatever
it learned; the findings list such settings so that a flat error is read as a collapse, not as
"no difference".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mtrl.findings.wording import setting_label
from mtrl.kinds import SINGLE
from mtrl.ordering import sort_cells

SETTING_KEYS = ["kind", "coupling", "sharing", "n_train"]


def collapsed_runs(runs: pd.DataFrame, target: str, split: str = "test") -> pd.DataFrame:
    """Per run setting of the target on ``split``: ``n_runs``, ``n_collapsed`` (runs predicting
    one class) and ``n_majority`` (of those, runs whose error equals the majority baseline's).

    Empty when the runs table does not record ``predicted_classes`` (older runs, regression).
    """
    columns = [*SETTING_KEYS, "n_runs", "n_collapsed", "n_majority"]
    rows = runs[(runs["task"] == target) & (runs["split"] == split)]
    if "predicted_classes" not in rows or rows["predicted_classes"].isna().all():
        return pd.DataFrame(columns=columns)
    per_run = rows.drop_duplicates([*SETTING_KEYS, "seed"])[[*SETTING_KEYS, "seed", "predicted_classes"]]
    errors = rows[rows["metric"] == "error"][[*SETTING_KEYS, "seed", "value", "baseline"]]
    per_run = per_run.merge(errors, on=[*SETTING_KEYS, "seed"], how="left")
    single = (per_run["predicted_classes"] == 1).fillna(False).to_numpy(dtype=bool)
    as_baseline = np.isclose(per_run["value"], per_run["baseline"], rtol=0, atol=1e-12)
    per_run = per_run.assign(collapsed=single, majority=single & as_baseline)
    grouped = per_run.groupby(SETTING_KEYS, sort=False)
    counts = grouped.agg(
        n_runs=("seed", "size"), n_collapsed=("collapsed", "sum"), n_majority=("majority", "sum")
    )
    return counts.reset_index()[columns]


def collapse_section(
    runs: pd.DataFrame,
    target: str,
    split: str = "test",
    couplings: Sequence[str] = (),
    sharings: Sequence[str] = (),
) -> str:
    """A paragraph listing the settings where runs predicted a single class of the target ("collapsed
    to the majority class in k of n runs"); empty when no run collapsed."""
    counts = collapsed_runs(runs, target, split)
    counts = counts[counts["n_collapsed"] > 0]
    if counts.empty:
        return ""
    single = counts[counts["kind"] == SINGLE]
    multi = sort_cells(counts[counts["kind"] != SINGLE], list(couplings), list(sharings))
    lines = [
        f"**Collapsed runs.** In these settings some runs predict a single class of `{target}` for every "
        f"{split} example: their error equals the baseline's whatever they learned, while a ranking or "
        "scoring metric (ROC-AUC, log-loss) still sees it. `training.class_weight: balanced` or "
        "`training.threshold: validation` moves the decision off the majority class."
    ]
    for _, row in pd.concat([single.sort_values("n_train"), multi]).iterrows():
        lines.append(f"- {setting_label(row)}: {_collapse_clause(row)}.")
    return "\n".join(lines)


def _collapse_clause(row) -> str:
    k, n, majority = int(row["n_collapsed"]), int(row["n_runs"]), int(row["n_majority"])
    if majority == k:
        return f"collapsed to the majority class in {k} of {n} runs"
    return f"predicted a single class in {k} of {n} runs (the majority class in {majority})"
