"""Findings in words: adjusted tests, interaction estimates and effect sizes against hand computation.

The statistics alone are tested in ``test_stats_study.py``; these tests check them and their wording."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mtrl.aggregate import comparison_table
from mtrl.findings import write_findings
from mtrl.stats.gains import average_relative_improvement, seed_gains, target_cells
from mtrl.stats.interactions import coupling_interactions, sharing_coupling_interaction
from mtrl.stats.multiplicity import adjust_p_values
from study_runs import ALL_GAIN, CROSSED, NO_GAIN, T_975_DF2, TARGET, make_runs, p_two_sided_df2, tables

# Hand-made values repeat exactly (e.g. a margin of 0.2 in every seed), and the float standard deviation
# of such a sample is ~1e-17 rather than 0, which makes scipy warn; the results are still exact enough.
pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")


# --- multiple-comparison adjustment ---------------------------------------------------------------------


def test_unknown_adjustment_method_is_refused():
    with pytest.raises(ValueError):
        write_findings(*tables(ALL_GAIN), TARGET, method="no-such-method")


# --- Q1 ------------------------------------------------------------------------------------------------


def test_every_cell_significant_is_reported_with_its_numbers():
    cells = target_cells(comparison_table(ALL_GAIN, TARGET), "error")
    # Gains 0.05, 0.055, 0.06: mean 0.055, sd 0.005, t = 0.055 / (0.005 / sqrt 3) = sqrt(363).
    p = p_two_sided_df2(math.sqrt(363))
    assert cells["p_value"].to_numpy() == pytest.approx([p] * 4)
    assert cells["p_adjusted"].to_numpy() == pytest.approx([4 * p] * 4)  # Holm with 4 equal p-values
    assert list(cells["direction"]) == ["gain"] * 4
    half = T_975_DF2 * 0.005 / math.sqrt(3)
    assert cells["gain_ci_low"].to_numpy() == pytest.approx([0.055 - half] * 4)
    assert cells["relative_change"].to_numpy() == pytest.approx([(0.245 - 0.3) / 0.3] * 4)

    text = write_findings(*tables(ALL_GAIN), TARGET, couplings=["tight", "loose"])
    assert f"{4 * p:.3g}" == "0.011"
    assert "every cell (4 of 4) shows a detectable multi-task gain" in text
    assert (
        "- `tight` / `low` / n = 100: gain 0.055 (95% CI 0.0426 to 0.0674), adjusted p = 0.011, 3 seeds; "
        "error 0.245 multi-task vs 0.3 single-task (relative change -18.3%)." in text
    )
    assert "Holm" in text
    assert "no detectable difference with" not in text
    # Q2: the gain is detectable up to the largest size in every setting.
    assert "- `tight` / `low`: n = 400 (gain 0.055" in text
    assert "not detectable at any size" not in text


def test_benjamini_hochberg_is_named_and_used():
    text = write_findings(*tables(ALL_GAIN), TARGET, method="fdr_bh")
    p = p_two_sided_df2(math.sqrt(363))  # BH leaves 4 equal p-values as they are
    assert "Benjamini-Hochberg" in text
    assert f"adjusted p = {p:.3g}, 3 seeds" in text
    assert "Holm" not in text


def test_nothing_significant_says_no_detectable_difference():
    cells = target_cells(comparison_table(NO_GAIN, TARGET), "error")
    # Gains 0.04, 0.06, 0.08: mean 0.06, sd 0.02, t = sqrt(27): p = 0.0351 unadjusted, Holm x 4.
    p = p_two_sided_df2(math.sqrt(27))
    assert p < 0.05
    assert cells["p_adjusted"].to_numpy() == pytest.approx([4 * p] * 4)
    assert set(cells["direction"]) == {"none"}

    text = write_findings(*tables(NO_GAIN), TARGET)
    assert "no detectable difference with 3 seeds" in text
    assert f"The smallest adjusted p-value is {4 * p:.3g}" in text
    assert "detectable multi-task gain in" not in text
    assert text.count("not detectable at any size") == 2  # Q2, both couplings
    assert "(largest gain at n = 100: 0.06 (95% CI" in text


def test_q1_table_lists_every_cell_and_the_baseline():
    text = write_findings(*tables(ALL_GAIN), TARGET)
    assert text.count("| no detectable difference |") == 0
    assert text.count("| MTL better |") == 4
    # Trivial baseline 0.5: the 4 multi-task cells detectably beat it; single-task sits at 0.30 in every
    # seed, a constant margin that a t-test cannot judge, so those 2 settings are not claimed.
    assert (
        "detectably beats its trivial baseline (majority class or training mean) in 4 of 6 settings" in text
    )
    # The summary table supplies the target's mean error and interval per setting.
    assert "| single-task / n = 100 | 0.3 (95% CI 0.3 to 0.3) | 0.5 |" in text


def test_relative_improvement_appears_in_the_text_per_coupling_and_sharing():
    text = write_findings(*tables(ALL_GAIN), TARGET, couplings=["tight", "loose"])
    # Target: (0.3 - MTL) / 0.3 per seed; auxiliary task unchanged (0): delta = half of the target's.
    deltas = average_relative_improvement(ALL_GAIN)
    expected = np.mean([(0.3 - v) / 0.3 / 2 for v in (0.25, 0.245, 0.24)])
    assert deltas["delta"].mean() == pytest.approx(expected)
    assert f"- `tight` / `low`: {100 * expected:+.1f}% (95% CI" in text
    assert "6 (size, seed) pairs, 3 seeds, 2 tasks: detectable improvement." in text


def test_regression_target_uses_rmse_and_signs_the_gain():
    runs = make_runs(
        {("tight", "low", 100): [0.8, 0.85, 0.9], ("loose", "low", 100): [1.0, 1.0, 1.0]},
        {100: [1.0, 1.0, 1.0]},
        metric="rmse",
        aux=2.0,
        baseline=1.5,
    )
    gains = seed_gains(runs, TARGET, "rmse").set_index(["coupling", "seed"])["gain"]
    assert gains[("tight", 1)] == pytest.approx(0.2)  # lower RMSE under multi-task: positive gain
    assert gains[("loose", 2)] == pytest.approx(0.0)
    text = write_findings(*tables(runs), TARGET, couplings=["tight", "loose"])
    assert "Primary metric: **rmse** on the test split (lower is better)" in text
    # tight: gains 0.2, 0.15, 0.1: mean 0.15, sd 0.05, t = sqrt 27; Holm over 2 cells (loose: p = 1).
    p = p_two_sided_df2(math.sqrt(27))
    half = T_975_DF2 * 0.05 / math.sqrt(3)
    assert (
        f"gain 0.15 (95% CI {0.15 - half:.3g} to {0.15 + half:.3g}), adjusted p = {2 * p:.3g}, 3 seeds; "
        f"rmse 0.85 multi-task vs 1 single-task (relative change -15.0%)" in text
    )
    assert "no detectable difference with 3 seeds" in text  # 2 x 0.0351 = 0.0702 > 0.05
    assert "| rmse (95% CI) |" in text


# --- Q2 ------------------------------------------------------------------------------------------------


# --- Q3 ------------------------------------------------------------------------------------------------


def test_coupling_interaction_matches_hand_computed_paired_t_test():
    gains = seed_gains(CROSSED, TARGET, "error")
    inter = coupling_interactions(gains, ["tight", "loose"]).set_index(["sharing", "scope"])
    assert set(inter["first"]) == {"tight"}
    small = inter.loc[("low", "smallest size")]
    # Differences in gain at n = 100: 0.01, 0.02, 0.03: mean 0.02, sd 0.01, t = sqrt 12 with 2 df.
    assert small["mean"] == pytest.approx(0.02)
    assert small["sd"] == pytest.approx(0.01)
    assert small["p_value"] == pytest.approx(p_two_sided_df2(math.sqrt(12)))
    assert small["p_value"] == pytest.approx(0.0741799, abs=1e-7)
    half = T_975_DF2 * 0.01 / math.sqrt(3)
    assert (small["ci_low"], small["ci_high"]) == pytest.approx((0.02 - half, 0.02 + half))
    pooled = inter.loc[("low", "all sizes")]
    # Pooled over sizes: 0.01, 0.02, 0.03, 0, 0, 0: mean 0.01, sd sqrt(8e-4 / 5), t with 5 df.
    sd = math.sqrt(8e-4 / 5)
    t = 0.01 / (sd / math.sqrt(6))
    assert pooled["mean"] == pytest.approx(0.01)
    assert pooled["sd"] == pytest.approx(sd)
    assert pooled["p_value"] == pytest.approx(2 * stats.t.sf(t, df=5))
    assert pooled["sizes"] == (100, 400)
    assert inter["p_adjusted"].to_numpy() == pytest.approx(adjust_p_values(inter["p_value"], "holm"))
    assert set(inter["direction"]) == {"none"}

    text = write_findings(*tables(CROSSED), TARGET, couplings=["tight", "loose"], sharings=["low", "high"])
    assert "`tight` minus `loose`:" in text
    assert (
        f"- `low`, smallest size n = 100: 0.02 (95% CI {0.02 - half:.3g} to {0.02 + half:.3g}), "
        f"p = 0.0742, adjusted p = {small['p_adjusted']:.3g}, 3 (size, seed) pairs, 3 seeds: "
        "not significant after adjustment." in text
    )


def test_significant_interaction_is_called_significant():
    tight = [0.2, 0.21, 0.19]
    runs = make_runs(
        {
            ("tight", "low", 100): tight,
            ("loose", "low", 100): [0.3, 0.3, 0.3],
            ("tight", "low", 400): tight,
            ("loose", "low", 400): [0.3, 0.3, 0.3],
        },
        {100: [0.3, 0.3, 0.3], 400: [0.3, 0.3, 0.3]},
    )
    text = write_findings(*tables(runs), TARGET, couplings=["tight", "loose"])
    # Pooled differences 0.1, 0.09, 0.11 twice: mean 0.1, sd sqrt(4e-4 / 5), 5 df.
    half = stats.t.ppf(0.975, 5) * math.sqrt(4e-4 / 5) / math.sqrt(6)
    assert f"- `low`, all sizes (100, 400): 0.1 (95% CI {0.1 - half:.3g} to {0.1 + half:.3g})" in text
    assert "6 (size, seed) pairs, 3 seeds: significant: `tight` gains more." in text


def test_single_coupling_cannot_estimate_coupling_effects():
    runs = make_runs({("tight", "low", 100): [0.25, 0.245, 0.24]}, {100: [0.3, 0.3, 0.3]})
    text = write_findings(*tables(runs), TARGET)
    assert "Only one coupling (`tight`) was run" in text
    assert "interaction of sharing with coupling cannot be estimated" in text


# --- Q4 ------------------------------------------------------------------------------------------------


def test_sharing_by_coupling_interaction_is_the_squared_contrast_t_test():
    gains = seed_gains(CROSSED, TARGET, "error")
    test = sharing_coupling_interaction(gains)
    # 2 x 2 within design: interaction F = t^2 of the contrast (tight low - tight high) - (loose low -
    # loose high) per (size, seed): 0.01, 0.01, 0.04, 0, 0, 0 -> mean 0.01, sd sqrt(2.4e-4), t^2 = 2.5.
    contrast = np.array([0.01, 0.01, 0.04, 0.0, 0.0, 0.0])
    assert test.f_value == pytest.approx(2.5)
    assert (test.df_num, test.df_den) == (1.0, 5.0)
    assert test.p_value == pytest.approx(stats.ttest_1samp(contrast, 0).pvalue)
    assert test.n_subjects == 6

    text = write_findings(*tables(CROSSED), TARGET, couplings=["tight", "loose"], sharings=["low", "high"])
    assert "The observed ranking of sharing levels is the same across couplings" in text
    assert f"F(1, 5) = 2.5, p = {test.p_value:.3g}: not significant at alpha = 0.05" in text


# --- auxiliary data framing -------------------------------------------------------------------------------


def test_auxiliary_section_only_when_asked():
    assert "plentiful auxiliary data" not in write_findings(*tables(NO_GAIN), TARGET)
    text = write_findings(*tables(NO_GAIN), TARGET, auxiliary_all_labels=True)
    assert "## Does plentiful auxiliary data help a scarce target?" in text
    assert "At the smallest target size n = 100: no detectable difference with 3 seeds" in text
    text = write_findings(*tables(ALL_GAIN), TARGET, auxiliary_all_labels=True)
    assert "At the smallest target size n = 100, 2 of 2 settings show a detectable multi-task gain" in text


def test_intervals_excluding_zero_without_adjusted_support_are_named_as_suggestive():
    text = write_findings(*tables(NO_GAIN), TARGET)
    assert "no detectable difference with 3 seeds" in text
    # gains 0.04, 0.06, 0.08 in every cell: each interval excludes zero (p = 0.035) but not after Holm
    assert "Before adjustment, the 95% interval of the gain excludes zero in 4 more of 4 cells" in text
    assert "unadjusted gain: gain 0.06 (95% CI" in text
    assert "read them as suggestive only" in text
    all_gain = write_findings(*tables(ALL_GAIN), TARGET)
    assert "Before adjustment" not in all_gain


# --- what the runs trained with -------------------------------------------------------------------------

NUMERICS = {
    "backend": "torch",
    "precision": "bfloat16",
    "device": "cpu",
    "setting": "auto",
    "decided_by": "measured at the study's network shapes (...): bfloat16 is 1.80x as fast",
}


def test_findings_header_says_what_the_runs_trained_with_and_how_precision_was_chosen():
    runs = ALL_GAIN.assign(backend="torch", precision="bfloat16", device="cpu")
    text = write_findings(*tables(runs), TARGET, numerics=NUMERICS)
    sentence = (
        "**Numerics.** Every run trained with backend `torch` in bfloat16 on device `cpu`, as resolved once "
        "for the study from `precision: auto`: measured at the study's network shapes (...): bfloat16 is "
        "1.80x as fast."
    )
    assert sentence in text
    assert text.index(sentence) < text.index("## Q1.")  # in the header
    explicit = {**NUMERICS, "precision": "float32", "setting": "float32", "decided_by": "set in the config"}
    runs32 = runs.assign(precision="float32")
    assert (
        "in float32 on device `cpu`, as resolved once for the study from `precision: float32`: "
        "set in the config." in write_findings(*tables(runs32), TARGET, numerics=explicit)
    )


def test_findings_name_mixed_numerics_and_what_the_study_resolved():
    runs = ALL_GAIN.assign(backend="torch", precision="bfloat16", device="cpu")
    runs.loc[runs["coupling"] == "loose", "device"] = "cuda"
    runs.loc[(runs["kind"] == "single") & (runs["n_train"] == 400), "device"] = "cuda"
    runs.loc[(runs["kind"] == "multitask") & (runs["n_train"] == 400), "device"] = "cuda"
    text = write_findings(*tables(runs[runs["n_train"] == 400]), TARGET, numerics=NUMERICS)
    assert "Every run trained with backend `torch` in bfloat16 on device `cuda`; the study resolved " in text
    mixed = write_findings(*tables(runs[runs["coupling"] != "loose"]), TARGET, numerics=NUMERICS)
    assert (
        "The runs mix backend/precision/device (`torch/bfloat16/cpu`, `torch/bfloat16/cuda`); every "
        "multi-task run is compared with a single-task partner of the same numerics; the study resolved "
        "`torch/bfloat16/cpu` once from `precision: auto`:" in mixed
    )


def test_findings_without_numerics_columns_have_no_numerics_sentence():
    assert "**Numerics.**" not in write_findings(*tables(ALL_GAIN), TARGET)
    runs = ALL_GAIN.assign(backend="jax", precision="float32", device="gpu")
    assert "**Numerics.** Every run trained with backend `jax` in float32 on device `gpu`." in write_findings(
        *tables(runs), TARGET
    )
