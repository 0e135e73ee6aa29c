"""The ``baseline`` and ``any_gain`` hypotheses: declarations, the margins table, the statistics
against scipy/statsmodels, and the false-positive rate of ``any_gain`` without any effect."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import DescrStatsW

from mtrl.config import ConfigError
from mtrl.stats.answers import baseline_margins_table
from mtrl.stats.any_gain import any_gain_row
from mtrl.stats.confirmatory import EQUIVALENT, INCONCLUSIVE, SUPPORTED, confirmatory_table
from mtrl.stats.hypotheses import parse_hypotheses

FAMILY = [
    {
        "name": "learns",
        "kind": "baseline",
        "coupling": "single",
        "n_train": "largest",
        "direction": "greater",
    },
    {"name": "some_gain", "kind": "any_gain", "direction": "greater"},
]


def test_declarations():
    baseline, any_gain = parse_hypotheses(FAMILY, couplings=["tight"], sharings=["low"], sizes=[10, 20])
    assert baseline.couplings == ("single",) and baseline.n_train == "largest"
    assert any_gain.kind == "any_gain" and any_gain.couplings == ()
    with pytest.raises(ConfigError, match=r"coupling: unknown 'nope'"):
        parse_hypotheses([{**FAMILY[0], "coupling": "nope"}], couplings=["tight"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) coupling for kind any_gain"):
        parse_hypotheses([{**FAMILY[1], "coupling": "tight"}])


def _runs(metric: str, value: list[float], baseline: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "single",
            "coupling": "single",
            "sharing": "none",
            "n_train": 10,
            "seed": range(1, len(value) + 1),
            "task": "t",
            "split": "test",
            "metric": metric,
            "value": value,
            "baseline": baseline,
        }
    )


def test_margins_are_positive_when_the_model_beats_its_baseline():
    auc = baseline_margins_table(_runs("roc_auc", [0.6, 0.7], 0.5), "t", "roc_auc")
    assert auc["gain"].tolist() == pytest.approx([0.1, 0.2])
    error = baseline_margins_table(_runs("error", [0.2, 0.4], 0.3), "t", "error")  # lower is better
    assert error["gain"].tolist() == pytest.approx([0.1, -0.1])
    assert list(error.columns) == ["coupling", "sharing", "n_train", "seed", "gain"]


def _grid(rng, effects: dict[tuple[str, str, int], float], seeds: int = 8, sd: float = 0.01) -> pd.DataFrame:
    rows = [(*cell, s, effect + rng.normal(0, sd)) for cell, effect in effects.items() for s in range(seeds)]
    return pd.DataFrame(rows, columns=["coupling", "sharing", "n_train", "seed", "gain"])


def test_any_gain_is_the_smallest_holm_adjusted_one_sided_p():
    rng = np.random.default_rng(3)
    effects = {("tight", "low", 10): 0.02, ("tight", "high", 10): 0.0, ("loose", "low", 10): -0.01}
    gains = _grid(rng, effects)
    (hypothesis,) = parse_hypotheses([FAMILY[1]])
    row = any_gain_row(gains, hypothesis, 0.01, alpha=0.05, level=0.05, power=0.8, effect=0.02, rule="zero")
    cells = [g["gain"].to_numpy() for _, g in gains.groupby(["coupling", "sharing", "n_train"], sort=True)]
    p = [stats.ttest_1samp(c, 0, alternative="greater").pvalue for c in cells]
    assert row["p"] == pytest.approx(multipletests(p, method="holm")[1].min())
    # the margin rule: each cell tested against the margin
    beyond = any_gain_row(
        gains, hypothesis, 0.01, alpha=0.05, level=0.05, power=0.8, effect=0.02, rule="margin"
    )
    p_margin = [stats.ttest_1samp(c, 0.01, alternative="greater").pvalue for c in cells]
    assert beyond["p"] == pytest.approx(multipletests(p_margin, method="holm")[1].min())
    assert beyond["p_zero"] == pytest.approx(row["p"]) and beyond["mde"] == pytest.approx(0.01 + row["mde"])
    best = cells[int(np.argmin(p))]
    assert row["estimate"] == pytest.approx(best.mean()) and "tight / low / n = 10" in row["note"]
    low, high = stats.t.interval(1 - 0.05 / 3, len(best) - 1, loc=best.mean(), scale=stats.sem(best))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    tost = [DescrStatsW(c).ttost_mean(-0.01, 0.01)[0] for c in cells]
    assert row["p_equivalence"] == pytest.approx(max(tost))
    assert row["seeds"] == 8 and row["mde"] > 0


def test_family_with_baseline_and_any_gain_verdicts():
    rng = np.random.default_rng(4)
    gains = _grid(rng, {("tight", "low", 10): 0.05, ("tight", "low", 20): 0.0})
    margins = _grid(rng, {("single", "none", 10): 0.0, ("single", "none", 20): 0.1}, sd=0.001)
    table = confirmatory_table(
        gains, parse_hypotheses(FAMILY), margin=0.01, alpha=0.05, margins=margins
    ).set_index("hypothesis")
    assert table.loc["learns", "verdict"] == SUPPORTED and table.loc["learns", "n_train"] == 20
    assert table.loc["some_gain", "verdict"] == SUPPORTED
    smallest = [{**FAMILY[0], "n_train": "smallest"}]
    table = confirmatory_table(gains, parse_hypotheses(smallest), margin=0.01, alpha=0.05, margins=margins)
    assert table["verdict"].iloc[0] == EQUIVALENT  # learns nothing detectable at n = 10, within 0.01
    flat = _grid(rng, {("tight", "low", 10): 0.0, ("loose", "low", 10): 0.0}, seeds=3, sd=0.05)
    table = confirmatory_table(flat, parse_hypotheses([FAMILY[1]]), margin=0.01, alpha=0.05)
    assert table["verdict"].iloc[0] == INCONCLUSIVE and table["mde"].iloc[0] > 0.05
    with pytest.raises(ValueError, match="baseline margins"):
        confirmatory_table(gains, parse_hypotheses(FAMILY), margin=0.01)


def test_any_gain_false_positive_rate_is_at_most_alpha():
    rng = np.random.default_rng(5)
    (hypothesis,) = parse_hypotheses([FAMILY[1]])
    cells = {(c, s, n): 0.0 for c in ("tight", "loose") for s in ("low", "high", "mix") for n in (10, 20)}
    studies, claims = 150, 0
    for _ in range(studies):
        row = any_gain_row(_grid(rng, cells, seeds=4), hypothesis, None, 0.05, 0.05, 0.8, None)
        claims += row["p"] < 0.05 and row["estimate"] > 0
    assert stats.binomtest(claims, studies, 0.05, alternative="greater").pvalue > 0.01, claims
