"""Statistics of the study against hand computation: adjusted p-values, detectability, the trivial
baseline, relative improvements, the largest detectable size and the coupling and sharing contrasts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtrl.stats.gains import (
    average_relative_improvement,
    baseline_cells,
    largest_detectable_size,
    relative_improvement_summary,
    seed_gains,
    task_relative_improvements,
)
from mtrl.stats.interactions import coupling_interactions, sharing_comparison
from mtrl.stats.multiplicity import adjust_p_values, is_detectable
from study_runs import CROSSED, TARGET, make_runs, p_two_sided_df2

# Hand-made values repeat exactly (e.g. a margin of 0.2 in every seed), and the float standard deviation
# of such a sample is ~1e-17 rather than 0, which makes scipy warn; the results are still exact enough.
pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")


# --- multiple-comparison adjustment ---------------------------------------------------------------------


def test_holm_adjustment_matches_hand_computation():
    # Sorted p: 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(1 x 0.04, 0.06) = 0.06.
    adjusted = adjust_p_values([0.01, 0.04, 0.03, float("nan")], "holm")
    assert adjusted[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adjusted[3])


def test_benjamini_hochberg_adjustment_matches_hand_computation():
    # Step-up: 0.04 x 3/3 = 0.04, min(0.03 x 3/2, 0.04) = 0.04, min(0.01 x 3/1, 0.04) = 0.03.
    assert adjust_p_values([0.01, 0.04, 0.03], "fdr_bh") == pytest.approx([0.03, 0.04, 0.04])


def test_unknown_adjustment_method_is_refused():
    with pytest.raises(ValueError):
        adjust_p_values([0.01], "no-such-method")


def test_detectable_needs_both_the_interval_and_the_adjusted_p_value():
    assert is_detectable(0.01, 0.05, 0.01, 0.05)
    assert is_detectable(-0.05, -0.01, 0.01, 0.05)
    assert not is_detectable(-0.01, 0.05, 0.01, 0.05)  # interval covers zero
    assert not is_detectable(0.01, 0.05, 0.06, 0.05)  # adjusted p too large
    assert not is_detectable(0.01, 0.05, float("nan"), 0.05)


# --- gains ---------------------------------------------------------------------------------------------


def test_baseline_margin_against_hand_computation():
    runs = make_runs({("tight", "low", 100): [0.25, 0.245, 0.24]}, {100: [0.3, 0.31, 0.29]}, baseline=0.25)
    base = baseline_cells(runs, TARGET, "error").set_index("kind")
    # Single-task: margins -0.05, -0.06, -0.04: mean -0.05, sd 0.01, t = -5 sqrt 3; Holm over the two
    # settings doubles the smaller p-value: detectably worse.
    assert base.loc["single", "margin_mean"] == pytest.approx(-0.05)
    assert base.loc["single", "p_value"] == pytest.approx(p_two_sided_df2(5 * math.sqrt(3)))
    assert base.loc["single", "direction"] == "worse"
    # Multi-task: margins 0, 0.005, 0.01: mean 0.005, sd 0.005, t = sqrt 3.
    assert base.loc["multitask", "margin_mean"] == pytest.approx(0.005)
    assert base.loc["multitask", "p_value"] == pytest.approx(p_two_sided_df2(math.sqrt(3)))
    assert base.loc["multitask", "direction"] == "none"


def test_average_relative_improvement_matches_hand_computation():
    rows = []
    values = {  # task: (metric, single-task per seed, multi-task per seed)
        "t": ("error", [0.2, 0.25], [0.18, 0.25]),  # (STL - MTL) / STL: 0.1, 0
        "r": ("rmse", [2.0, 4.0], [1.5, 5.0]),  # 0.25, -0.25
    }
    for task, (metric, single, multi) in values.items():
        for kind, coupling, sharing, per_seed in (
            ("single", "single", "none", single),
            ("multitask", "mixed", "full", multi),
        ):
            for seed, value in enumerate(per_seed, start=1):
                rows.append({
                    "kind": kind, "coupling": coupling, "sharing": sharing, "n_train": 50, "seed": seed,
                    "task": task, "split": "test", "metric": metric, "value": value, "baseline": 1.0,
                })  # fmt: skip
    runs = pd.DataFrame(rows)
    per_task = task_relative_improvements(runs).set_index(["task", "seed"])["relative_improvement"]
    assert per_task[("t", 1)] == pytest.approx(0.1)
    assert per_task[("r", 2)] == pytest.approx(-0.25)
    deltas = average_relative_improvement(runs)
    assert deltas["delta"].to_numpy() == pytest.approx([0.175, -0.125])  # (0.1 + 0.25) / 2, (0 - 0.25) / 2
    assert list(deltas["n_tasks"]) == [2, 2]
    summary = relative_improvement_summary(deltas).iloc[0]
    # Mean 0.025, sd 0.15 * sqrt 2, t = 0.025 / 0.15 with 1 df: p = 1 - (2 / pi) atan(t) (Cauchy).
    assert summary["mean"] == pytest.approx(0.025)
    assert summary["p_value"] == pytest.approx(1 - 2 / math.pi * math.atan(0.025 / 0.15))
    assert summary["ci_high"] == pytest.approx(0.025 + 12.706204736174707 * 0.15)
    assert summary["direction"] == "none"


def test_largest_detectable_size():
    cells = pd.DataFrame({
        "coupling": ["tight"] * 3 + ["loose"] * 3,
        "sharing": ["low"] * 6,
        "n_train": [100, 400, 1600] * 2,
        "direction": ["gain", "gain", "none", "none", "loss", "none"],
    })  # fmt: skip
    largest = largest_detectable_size(cells).set_index("coupling")["largest_n_train"]
    assert largest["tight"] == 400
    assert pd.isna(largest["loose"])


# --- coupling and sharing ------------------------------------------------------------------------------


def test_coupling_interaction_default_order_is_order_of_appearance():
    gains = seed_gains(CROSSED, TARGET, "error")
    gains = gains.sort_values("coupling", kind="stable")  # loose first
    inter = coupling_interactions(gains)
    assert set(zip(inter["first"], inter["second"], strict=True)) == {("loose", "tight")}
    low = inter[(inter["sharing"] == "low") & (inter["scope"] == "smallest size")].iloc[0]
    assert low["mean"] == pytest.approx(-0.02)


def test_sharing_ranking_and_best_minus_next():
    gains = seed_gains(CROSSED, TARGET, "error")
    comp = sharing_comparison(gains).set_index("coupling")
    assert comp.loc["tight", "ranking"] == ("low", "high")
    # tight: mean gain low (0.05 + 0.055 + 0.06 + 3 x 0.1) / 6, high (3 x 0.01 + 3 x 0.05) / 6.
    assert comp.loc["tight", "best_mean"] == pytest.approx(0.465 / 6)
    assert comp.loc["tight", "next_mean"] == pytest.approx(0.18 / 6)
    # low - high per (size, seed): 0.04, 0.045, 0.05, 0.05, 0.05, 0.05.
    diffs = [0.04, 0.045, 0.05, 0.05, 0.05, 0.05]
    assert comp.loc["tight", "mean"] == pytest.approx(np.mean(diffs))
    assert comp.loc["tight", "p_value"] == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    assert comp["p_adjusted"].to_numpy() == pytest.approx(adjust_p_values(comp["p_value"], "holm"))
