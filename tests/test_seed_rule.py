"""Precision-driven seeds (Stein's two-stage rule): the rule, the plan per training size, the config
checks, and the false-positive rate of tests after seeds were added by the rule."""

import gc
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtrl.config import ConfigError, load_config, study_seeds
from mtrl.stats.confirmatory import CONTRADICTED, SUPPORTED, confirmatory_table
from mtrl.stats.hypotheses import parse_hypotheses
from mtrl.stats.intervals import mean_interval
from mtrl.stats.seed_rule import (
    PLAN_COLUMNS,
    SeedRule,
    halfwidth,
    seed_plan,
    seed_rule,
    seeds_by_size,
    seeds_needed,
)

RULE = SeedRule(initial=4, max=20, target_halfwidth=0.01, first=1)


def test_rule_from_the_config_setting():
    assert seed_rule([1, 2, 3]) is None
    rule = seed_rule({"initial": 3, "max": 9, "target_halfwidth": 0.02, "first": 11})
    assert rule == SeedRule(3, 9, 0.02, 11)
    assert rule.initial_seeds == [11, 12, 13] and rule.all_seeds == list(range(11, 20))


@pytest.mark.parametrize(
    "kwds, message",
    [
        ({"initial": 1, "max": 5}, "at least 2 initial seeds"),
        ({"initial": 6, "max": 5}, "seeds.max = 5 is below seeds.initial = 6"),
        ({"initial": 2, "max": 5, "target_halfwidth": 0.0}, "must be above 0"),
    ],
)
def test_rule_refuses_what_cannot_work(kwds, message):
    with pytest.raises(ValueError, match=message):
        SeedRule(**{"target_halfwidth": 0.01, "first": 1, **kwds})


def test_halfwidth_is_the_t_interval_of_the_mean():
    values = [0.01, 0.03, -0.02, 0.04, 0.0]
    interval = mean_interval(values, 0.95)
    assert halfwidth(interval.sd, 5, 0.95) == pytest.approx((interval.ci_high - interval.ci_low) / 2)
    assert math.isnan(halfwidth(0.1, 1, 0.95))


def test_seeds_needed_is_steins_total_by_hand():
    values = np.array([0.02, -0.01, 0.03, 0.0])  # sd 0.018257
    sd = values.std(ddof=1)
    by_hand = math.ceil((stats.t.ppf(0.975, 3) * sd / 0.01) ** 2)  # (3.182 * 0.018257 / 0.01)^2 = 33.8
    assert by_hand == 34
    assert seeds_needed(values, SeedRule(4, 50, 0.01, 1), 0.95) == 34
    assert seeds_needed(values, RULE, 0.95) == 20  # capped at max
    assert (
        seeds_needed(values, SeedRule(4, 50, 0.015, 1), 0.95)
        == math.ceil((stats.t.ppf(0.975, 3) * sd / 0.015) ** 2)
        == 16
    )
    assert seeds_needed(values, SeedRule(4, 50, 1.0, 1), 0.95) == 4  # precise already: the initial seeds
    assert seeds_needed([0.01, 0.01, 0.01, 0.01], RULE, 0.95) == 4  # no spread
    assert seeds_needed([0.01, np.nan], RULE, 0.95) == 20  # spread unknown: the maximum
    assert seeds_needed(values, SeedRule(4, 50, 0.01, 1), 0.99) > 34  # a stricter level needs more


def _gains(sds: dict[tuple[str, str, int], float], seeds, rng) -> pd.DataFrame:
    rows = [
        (coupling, sharing, n, seed, rng.normal(0, sd))
        for (coupling, sharing, n), sd in sds.items()
        for seed in seeds
    ]
    return pd.DataFrame(rows, columns=["coupling", "sharing", "n_train", "seed", "gain"])


def test_plan_gives_each_size_the_seeds_of_its_widest_cell():
    rng = np.random.default_rng(0)
    sds = {("tight", "low", 100): 0.02, ("loose", "low", 100): 0.002, ("tight", "low", 400): 1e-5}
    gains = _gains(sds, [1, 2, 3, 4, 99], rng)  # seed 99 is not an initial seed: not read
    plan = seed_plan(gains, RULE, sizes=[100, 400, 1600], confidence=0.95)
    assert list(plan.columns) == PLAN_COLUMNS
    by_cell = plan.set_index(["n_train", "coupling"])
    tight = gains[(gains["coupling"] == "tight") & (gains["n_train"] == 100) & (gains["seed"] < 5)]["gain"]
    assert by_cell.loc[(100, "tight"), "seeds_needed"] == seeds_needed(tight, RULE, 0.95)
    assert by_cell.loc[(100, "tight"), "sd"] == pytest.approx(tight.std(ddof=1))
    assert (
        plan.loc[plan["n_train"] == 100, "seeds"] == plan.loc[plan["n_train"] == 100, "seeds_needed"].max()
    ).all()
    assert (
        by_cell.loc[(400, "tight"), "seeds"] == 4
        and "within the target" in by_cell.loc[(400, "tight"), "reason"]
    )
    no_cell = plan[plan["n_train"] == 1600].iloc[0]
    assert no_cell["seeds"] == 4 and "no cell" in no_cell["reason"]
    assert seeds_by_size(plan, RULE) == {
        100: RULE.seeds(int(by_cell.loc[(100, "tight"), "seeds"])),
        400: [1, 2, 3, 4],
        1600: [1, 2, 3, 4],
    }
    assert "wider than the target" in by_cell.loc[(100, "tight"), "reason"]


def test_config_with_a_rule_and_its_errors(tmp_path):
    from pathlib import Path

    import yaml

    base = yaml.safe_load(Path("config.yaml").read_text())
    config = load_config({**base, "seeds": {"initial": 3, "max": 8, "target_halfwidth": 0.02}})
    assert config["seeds"]["first"] == 1  # the schema's default
    assert study_seeds(config) == [1, 2, 3]
    assert study_seeds(load_config({**base, "seeds": [5, 7]})) == [5, 7]
    with pytest.raises(ConfigError, match=r"seeds.max = 2 is below seeds.initial = 3"):
        load_config({**base, "seeds": {"initial": 3, "max": 2, "target_halfwidth": 0.02}})
    with pytest.raises(ConfigError, match="seeds"):
        load_config({**base, "seeds": {"initial": 3, "max": 9}})  # no target_halfwidth
    with pytest.raises(ConfigError, match="seeds"):
        load_config({**base, "seeds": {"initial": 3, "max": 9, "target_halfwidth": 0.02, "stop_at_p": 0.05}})


# --- calibration: the rule adds seeds on the spread only, so the tests stay at alpha ----------------------


def test_cell_false_positive_rate_with_the_rule_is_at_most_alpha():
    """Sizes of six cells without an effect (as the default study: 2 couplings x 3 sharing levels),
    seeds added by the rule (each size the most its cells need), then the paired test of one cell on
    every seed: the share of rejections is not significantly above alpha (one-sided binomial test at
    1%; one cell per simulated size, so that the trials are independent)."""
    rng = np.random.default_rng(7)
    alpha, sizes = 0.05, 3000
    rule = SeedRule(initial=4, max=20, target_halfwidth=0.01, first=1)
    rejections, totals = 0, set()
    for _ in range(sizes):
        sd = rng.choice([0.005, 0.01, 0.02, 0.05])
        first = rng.normal(0, sd, (6, rule.initial))
        total = max(seeds_needed(cell, rule, 1 - alpha) for cell in first)
        values = np.concatenate([first[0], rng.normal(0, sd, total - rule.initial)])
        totals.add(total)
        rejections += stats.ttest_1samp(values, 0.0).pvalue < alpha
    assert len(totals) > 3  # the rule did add seeds, and not always the same number
    assert stats.binomtest(int(rejections), sizes, alpha, alternative="greater").pvalue > 0.01, rejections


def test_optional_stopping_on_p_would_inflate_false_positives():
    """The contrast the README warns of: adding seeds until p < alpha (up to the same max) rejects far
    more often than alpha, so the rule must never look at p."""
    rng = np.random.default_rng(8)
    alpha, cells, rejections = 0.05, 1000, 0
    for _ in range(cells):
        values = list(rng.normal(0, 0.01, 4))
        while stats.ttest_1samp(values, 0.0).pvalue >= alpha and len(values) < 20:
            values.append(rng.normal(0, 0.01))
        rejections += stats.ttest_1samp(values, 0.0).pvalue < alpha
    assert rejections / cells > 2 * alpha


FAMILY = [
    {
        "name": "tight_gain",
        "kind": "gain",
        "coupling": "tight",
        "n_train": "smallest",
        "direction": "greater",
    },
    {
        "name": "loose_gain",
        "kind": "gain",
        "coupling": "loose",
        "n_train": "smallest",
        "direction": "greater",
    },
    {
        "name": "contrast",
        "kind": "coupling_contrast",
        "couplings": ["tight", "loose"],
        "n_train": "smallest",
        "direction": "greater",
    },
    {"name": "slope", "kind": "size_slope", "direction": "less"},
    {"name": "interaction", "kind": "interaction"},
]
STUDIES = 120


def _null_study(rng: np.random.Generator, rule: SeedRule, alpha: float) -> pd.DataFrame:
    """A study without any effect whose seeds follow ``rule``: noise per gain and per (size, seed)
    (the single-task partner), magnitudes drawn per study and per size."""
    sizes = (100, 300, 1000)
    noise = {n: (rng.choice([0.0, 0.01, 0.02]), rng.choice([0.005, 0.01, 0.03])) for n in sizes}

    def draw(seeds):
        rows = []
        for n in sizes:
            for seed in seeds:
                shared = rng.normal(0, noise[n][0])
                rows += [
                    (c, s, n, seed, shared + rng.normal(0, noise[n][1]))
                    for c in ("tight", "loose")
                    for s in ("hard", "soft", "none")
                ]
        return pd.DataFrame(rows, columns=["coupling", "sharing", "n_train", "seed", "gain"])

    initial = draw(rule.initial_seeds)
    plan = seed_plan(initial, rule, sizes, 1 - alpha)
    added = [
        draw_size[draw_size["n_train"] == n]
        for n, seeds in seeds_by_size(plan, rule).items()
        if len(seeds) > rule.initial
        for draw_size in [draw(seeds[rule.initial :])]
    ]
    return pd.concat([initial, *added], ignore_index=True)


def test_family_false_positive_rate_with_the_rule_is_at_most_alpha():
    alpha = 0.05
    rule = SeedRule(initial=4, max=12, target_halfwidth=0.01, first=1)
    family = parse_hypotheses(FAMILY)
    rng = np.random.default_rng(2016)
    gc.freeze()  # statsmodels' Holm calls gc.collect() on every call: collect only what the loop makes
    try:
        claims = 0
        for _ in range(STUDIES):
            table = confirmatory_table(_null_study(rng, rule, alpha), family, margin=0.01, alpha=alpha)
            claims += table["verdict"].isin([SUPPORTED, CONTRADICTED]).any()
    finally:
        gc.unfreeze()
    assert stats.binomtest(int(claims), STUDIES, alpha, alternative="greater").pvalue > 0.01, claims


def test_findings_paragraph_names_each_size_and_its_widest_cell():
    from mtrl.findings.seeds import seeds_section

    rng = np.random.default_rng(1)
    sds = {("loose", "high", 100): 0.03, ("tight", "high", 100): 0.1, ("tight", "low", 400): 1e-4}
    plan = seed_plan(_gains(sds, [1, 2, 3, 4], rng), RULE, sizes=[100, 400], confidence=0.95)
    text = seeds_section(plan)
    assert "n = 100: 20 seeds; widest cell tight/high" in text  # both capped: the larger spread
    assert "n = 400: 4 seeds; widest cell tight/low" in text and "within the target" in text
    assert "never on an observed effect or p-value" in text
    assert seeds_section(None) == ""
