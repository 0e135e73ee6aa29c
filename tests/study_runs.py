"""Hand-made run tables of a small study (target ``t``, couplings ``tight`` and ``loose``) for the
statistics and findings tests, with closed forms of the t-test they are checked against."""

from __future__ import annotations

import math

import pandas as pd

from mtrl.aggregate import comparison_table, summary_table

TARGET = "t"
COUPLINGS = {"tight": [TARGET, "a"], "loose": [TARGET, "b"]}
T_975_DF2 = 4.302652729911275  # t quantile 0.975 with 2 degrees of freedom (printed tables: 4.303)


def p_two_sided_df2(t: float) -> float:
    """Closed form of the two-sided t-test p-value with 2 degrees of freedom: 1 - t / sqrt(2 + t^2)."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def make_runs(
    target_mtl: dict[tuple[str, str, int], list[float]],
    target_stl: dict[int, list[float]],
    metric: str = "error",
    aux: float = 0.4,
    baseline: float = 0.5,
) -> pd.DataFrame:
    """runs.csv rows: the target's values per seed as given, every auxiliary task at ``aux``."""
    other = {"error": "accuracy", "rmse": "r2"}[metric]
    rows = []

    def add(kind, coupling, sharing, n_train, seed, task, value):
        for name, v, b in ((metric, value, baseline), (other, 1 - value, 1 - baseline)):
            rows.append({
                "kind": kind, "coupling": coupling, "sharing": sharing, "n_train": n_train, "seed": seed,
                "task": task, "is_target": task == TARGET, "split": "test", "metric": name, "value": v,
                "baseline": b, "n_eval": 100, "epochs_trained": 5, "training_seconds": 1.0,
            })  # fmt: skip

    tasks = list(dict.fromkeys(t for ts in COUPLINGS.values() for t in ts))
    for n_train, values in target_stl.items():
        for seed, value in enumerate(values, start=1):
            for task in tasks:
                add("single", "single", "none", n_train, seed, task, value if task == TARGET else aux)
    for (coupling, sharing, n_train), values in target_mtl.items():
        for seed, value in enumerate(values, start=1):
            for task in COUPLINGS[coupling]:
                add("multitask", coupling, sharing, n_train, seed, task, value if task == TARGET else aux)
    return pd.DataFrame(rows)


def tables(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return runs, comparison_table(runs, TARGET), summary_table(runs)


# Every cell: single-task error 0.30, multi-task 0.25, 0.245, 0.24 -> gains 0.05, 0.055, 0.06.
ALL_GAIN = make_runs(
    {(c, "low", n): [0.25, 0.245, 0.24] for c in COUPLINGS for n in (100, 400)},
    {100: [0.3, 0.3, 0.3], 400: [0.3, 0.3, 0.3]},
)
# Every cell: gains 0.04, 0.06, 0.08: unadjusted p = 0.035 < 0.05, but not after adjusting 4 cells.
NO_GAIN = make_runs(
    {(c, "low", n): [0.26, 0.24, 0.22] for c in COUPLINGS for n in (100, 400)},
    {100: [0.3, 0.3, 0.3], 400: [0.3, 0.3, 0.3]},
)
# Two couplings x two sharing levels x two sizes; single-task error 0.30 everywhere.
CROSSED = make_runs(
    {
        ("tight", "low", 100): [0.25, 0.245, 0.24],  # gains 0.05, 0.055, 0.06
        ("loose", "low", 100): [0.26, 0.265, 0.27],  # gains 0.04, 0.035, 0.03
        ("tight", "low", 400): [0.2, 0.2, 0.2],
        ("loose", "low", 400): [0.2, 0.2, 0.2],
        ("tight", "high", 100): [0.29, 0.29, 0.29],
        ("loose", "high", 100): [0.29, 0.3, 0.28],
        ("tight", "high", 400): [0.25, 0.25, 0.25],
        ("loose", "high", 400): [0.25, 0.25, 0.25],
    },
    {100: [0.3, 0.3, 0.3], 400: [0.3, 0.3, 0.3]},
)
