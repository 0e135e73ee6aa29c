"""Does bfloat16 change the science? Compare two studies that differ only in ``precision``.

    .venv/bin/python benchmarks/precision_check.py results results-f32

Reads ``<study>/tables/runs.csv`` of both (same config, same seeds), takes each cell's headline
test metric (multi-task: the target's error; single-task: each task's error or RMSE), and reports
per cell the mean difference against the float32 seed-to-seed standard deviation, and the paired
difference of the classification error over all such runs. Writes ``results/bench/precision.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
CELL = ["kind", "coupling", "sharing", "n_train", "task"]


def headline(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its cell, seed and headline test metric (error, else RMSE)."""
    test = runs[(runs["split"] == "test") & ((runs["kind"] == "single") | runs["is_target"].astype(bool))]
    kinds = test.groupby("task")["metric"].agg(lambda m: "error" if "error" in set(m) else "rmse")
    test = test[test["metric"] == test["task"].map(kinds)]
    return test[[*CELL, "seed", "metric", "value"]].fillna({"coupling": "-", "sharing": "-"})


def compare(fast: pd.DataFrame, reference: pd.DataFrame) -> dict:
    paired = headline(fast).merge(headline(reference), on=[*CELL, "seed", "metric"], suffixes=("", "_ref"))
    if paired.empty:
        raise SystemExit("the two studies have no run in common")
    paired["diff"] = paired["value"] - paired["value_ref"]
    cells = paired.groupby(CELL).agg(
        mean=("value", "mean"),
        mean_ref=("value_ref", "mean"),
        sd_ref=("value_ref", "std"),
        seeds=("seed", "size"),
    )
    cells["diff"] = cells["mean"] - cells["mean_ref"]
    within = int((cells["diff"].abs() <= cells["sd_ref"]).sum())
    errors = paired[paired["metric"] == "error"]["diff"]  # one unit: classification error
    test = stats.ttest_1samp(errors, 0.0)
    return {
        "cells": len(cells),
        "runs": len(paired),
        "seeds_per_cell": int(cells["seeds"].min()),
        "cells_within_seed_sd": within,
        "mean_abs_cell_diff_in_seed_sd": round(float((cells["diff"].abs() / cells["sd_ref"]).mean()), 3),
        "error_runs": len(errors),
        "error_paired_diff_mean": round(float(errors.mean()), 4),
        "error_paired_diff_sd": round(float(errors.std()), 4),
        "error_paired_p_value": round(float(test.pvalue), 3),
        "by_cell": cells.reset_index().round(4).to_dict(orient="records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fast", help="study folder of the fast path (e.g. results)")
    parser.add_argument("reference", help="study folder of the float32 reference")
    parser.add_argument("--out", default=str(REPO / "results/bench/precision.json"))
    args = parser.parse_args()
    tables = [pd.read_csv(Path(p) / "tables/runs.csv") for p in (args.fast, args.reference)]
    for path, table in zip((args.fast, args.reference), tables, strict=True):
        precision, backend = sorted(table["precision"].unique()), sorted(table["backend"].unique())
        print(f"{path}: precision {precision}, backend {backend}")
    result = compare(*tables)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k != "by_cell"}
    print(json.dumps(summary, indent=2))
    worst = sorted(result["by_cell"], key=lambda c: -abs(c["diff"]))[:5]
    print("largest cell differences:", *worst, sep="\n  ")
    sys.exit(0)


if __name__ == "__main__":
    main()
