"""The study's answers as tables (hypotheses.csv, power.csv) and the findings' opening verdicts."""

from __future__ import annotations

import math

import pytest

from mtrl.findings.verdicts import verdict_section
from mtrl.stats.answers import HYPOTHESES_COLUMNS, POWER_COLUMNS, gains_table, hypotheses_table, power_table
from mtrl.stats.confirmatory import replicate_test
from study_runs import CROSSED, TARGET

FINDINGS = {
    "alpha": 0.05,
    "adjustment": "holm",
    "power": 0.8,
    "metric": "auto",
    "equivalence_margin": {"error": 0.01},
    "effect_of_interest": {"error": 0.02},
    "verdict_rule": "zero",
    "hypotheses": [
        {"name": "tight_small", "kind": "gain", "coupling": "tight", "n_train": "smallest",
         "direction": "greater"},
        {"name": "tight_vs_loose", "kind": "coupling_contrast", "couplings": ["tight", "loose"],
         "n_train": "smallest", "direction": "greater"},
    ],
}  # fmt: skip


def _tables():
    gains = gains_table(CROSSED, TARGET, "error")
    return gains, hypotheses_table(gains, FINDINGS, "error", ["tight", "loose"], ["low", "high"], [100, 400])


def test_gains_are_per_replicate_and_signed_so_that_positive_is_better():
    gains, _ = _tables()
    assert list(gains.columns) == ["coupling", "sharing", "n_train", "seed", "gain"]
    low = gains[(gains["coupling"] == "tight") & (gains["sharing"] == "low") & (gains["n_train"] == 100)]
    assert low["gain"].round(6).tolist() == [0.05, 0.055, 0.06]  # error 0.30 -> 0.25, 0.245, 0.24


def test_hypotheses_table_pools_sharing_levels_and_tests_the_family():
    _, table = _tables()
    assert list(table.columns) == HYPOTHESES_COLUMNS
    assert table["hypothesis"].tolist() == ["tight_small", "tight_vs_loose"]
    tight = table.iloc[0]
    # pooled per seed over low and high at n = 100: (0.05 + 0.01) / 2, (0.055 + 0.01) / 2, (0.06 + 0.01) / 2
    values = [0.03, 0.0325, 0.035]
    assert tight["estimate"] == pytest.approx(sum(values) / 3)
    reference = replicate_test(values, 0.01, 0.05)
    assert tight["p"] == pytest.approx(reference["p"])
    assert tight["metric"] == "error" and tight["seeds"] == 3 and tight["margin"] == 0.01


def test_no_hypotheses_gives_an_empty_table_with_the_columns():
    gains, _ = _tables()
    empty = hypotheses_table(gains, {**FINDINGS, "hypotheses": []}, "error", ["tight"], ["low"], [100])
    assert empty.empty and list(empty.columns) == HYPOTHESES_COLUMNS


def test_power_table_has_one_row_per_cell_at_alpha_over_the_cells():
    gains, _ = _tables()
    power = power_table(gains, FINDINGS, "error")
    assert list(power.columns) == POWER_COLUMNS
    assert len(power) == 8 and power["alpha"].tolist() == pytest.approx([0.05 / 8] * 8)
    tight = power[(power["coupling"] == "tight") & (power["n_train"] == 100)].set_index("sharing")
    spread, constant = tight.loc[["low"]], tight.loc[["high"]]
    assert spread["seeds"].iloc[0] == 3 and spread["mde"].iloc[0] > 0
    assert math.isnan(constant["mde"].iloc[0])  # no spread: no detectable effect to speak of


def test_verdict_section_opens_with_one_line_per_hypothesis():
    _, table = _tables()
    text = verdict_section(table, 0.05, "holm")
    assert text.startswith("## Confirmatory hypotheses")
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(lines) == 2 and lines[0].startswith("- `tight_small`: **")
    for verdict, line in zip(table["verdict"], lines, strict=True):
        assert f"**{verdict}**" in line and "95% CI" in line
    assert verdict_section(None, 0.05, "holm") == ""
