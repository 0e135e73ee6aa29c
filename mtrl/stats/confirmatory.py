"""The confirmatory family: estimate, interval, p-values, equivalence, power and a verdict per hypothesis.

For a ``gain`` or ``coupling_contrast`` hypothesis (:mod:`mtrl.stats.hypotheses`) the replicate
values are tested with a one-sample t test against 0 (scipy ``ttest_rel`` against zeros, as every
paired comparison of the study, :func:`mtrl.stats.intervals.paired_difference`), with the
``(1 - alpha)`` t interval; the equivalence test is statsmodels' two one-sided t tests (TOST),
``DescrStatsW(values).ttost_mean(-margin, margin)``: the one-sample form, because each value is
already a paired difference (``ttost_paired`` of the multi-task and single-task values would need
the two sides, which a pooled gain or a contrast of couplings does not have, and gives the same
p-value where it applies). TOST rather than a Bayesian region of practical equivalence: it is a
frequentist test at the same ``alpha`` as the rest of the family, so the family's error rates stay
the same kind. ``size_slope`` and ``interaction`` take theirs from the grid model
(:mod:`mtrl.stats.grid_model`); the slope's TOST is the same two one-sided t tests on its estimate,
standard error and degrees of freedom (scipy's t distribution).

P-values are adjusted within the family (Holm by default,
:func:`mtrl.stats.multiplicity.adjust_p_values`), the equivalence p-values likewise among
themselves. Power is computed at ``alpha / len(family)``, the level of Holm's strictest step
(Bonferroni), so an effect of the minimum detectable size is found with at least ``power`` whatever
the other hypotheses' p-values.

What a "difference" is (``rule``, config ``findings.verdict_rule``):

- ``zero`` (the default): any difference from 0 (``p`` is the two-sided t test against 0), the
  classic test.
- ``margin``: a difference larger than the equivalence margin, a minimum-effect test. ``p`` is the
  one-sided t test of "the effect is at most ``+margin``" or of "at least ``-margin``", whichever
  side the estimate is on, doubled (scipy's t distribution on the estimate, its standard error
  and degrees of freedom): the same error rate as a two-sided test, so ``supported`` means the 95%
  interval lies beyond ``+margin`` (Holm-adjusted). Together with TOST this is the frequentist form
  of a region of practical equivalence (ROPE, as Benavoli et al. 2017 and ``baycomp`` use to
  compare learners): the three verdicts that claim something exclude one another, and an effect
  inside the margin, which the study declared too small to matter, is never called a difference,
  however many seeds pin it down; the price is power (an effect must clear the margin, not 0).

The point-null p is always in the column ``p_zero``.

Under the margin rule the size slope's margin (and its effect of interest) is the gain's spread
over the study's sizes: ``margin / ln(n_max / n_min)`` per unit of log size (a slope that moves the
gain by less than the margin from the smallest to the largest size is negligible), unless the
hypothesis gives its own; the zero rule reads both per unit of log size, as studies before the rule.
The interaction (an F test of several terms) has no margin and is always tested against 0.

Verdicts (:func:`verdict`): ``supported`` (adjusted p < alpha and the estimate in the stated
direction; any direction for a two-sided hypothesis), ``contradicted`` (adjusted p < alpha, the
other way), ``equivalent`` (neither, and adjusted TOST p < alpha), ``inconclusive`` (none of these).
An interaction has no equivalence test: ``supported`` or ``inconclusive``. Degenerate data claim
nothing: one replicate, or replicate values that are all equal (a t test is undefined), leave p or
the TOST p NaN and the verdict ``inconclusive``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from mtrl.stats.any_gain import any_gain_row
from mtrl.stats.grid_model import GridModel, InteractionWald, SizeSlope, fit_grid_model
from mtrl.stats.hypotheses import (
    ANY_GAIN,
    BASELINE,
    GREATER,
    INTERACTION,
    LESS,
    MARGIN_RULE,
    REPLICATE_KINDS,
    SIZE_SLOPE,
    TWO_SIDED,
    VERDICT_RULES,
    ZERO_RULE,
    Hypothesis,
    replicate_values,
)
from mtrl.stats.intervals import paired_difference
from mtrl.stats.multiplicity import adjust_p_values
from mtrl.stats.power import (
    POWER,
    detectable_from_se,
    minimum_detectable_effect,
    replicates_needed,
    replicates_needed_from_se,
)

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
EQUIVALENT = "equivalent"
INCONCLUSIVE = "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, EQUIVALENT, INCONCLUSIVE)

COLUMNS = [
    "hypothesis",
    "kind",
    "estimate",
    "ci_low",
    "ci_high",
    "p",
    "p_adjusted",
    "p_zero",
    "p_equivalence",
    "p_equivalence_adjusted",
    "verdict",
    "seeds",
    "mde",
    "seeds_needed",
    "direction",
    "margin",
    "n_train",
    "note",
    "verdict_rule",
]


def verdict(
    estimate: float, p_adjusted: float, p_equivalence_adjusted: float, direction: str, alpha: float
) -> str:
    """The verdict of one hypothesis from its adjusted p-values (see the module); NaN p-values: no claim."""
    if p_adjusted < alpha:
        if direction == TWO_SIDED:
            return SUPPORTED
        if (direction == GREATER and estimate > 0) or (direction == LESS and estimate < 0):
            return SUPPORTED
        if (direction == GREATER and estimate < 0) or (direction == LESS and estimate > 0):
            return CONTRADICTED
    if p_equivalence_adjusted < alpha:
        return EQUIVALENT
    return INCONCLUSIVE


def beyond_margin_p(estimate: float, se: float, df: float, margin: float) -> float:
    """p of a difference beyond +/- ``margin``: the one-sided t test on the estimate's side, doubled.

    On the side of the estimate, "the effect is at most ``+margin``" (or "at least ``-margin``") is
    tested with the t statistic ``(estimate -/+ margin) / se`` on ``df`` degrees of freedom (scipy's t
    distribution); the p is doubled, as a two-sided test's, and at most 1. NaN where ``se`` is not a
    positive number.
    """
    if not (np.isfinite(se) and se > 0 and np.isfinite(estimate)):
        return math.nan
    if estimate >= 0:
        one_sided = stats.t.sf((estimate - margin) / se, df)
    else:
        one_sided = stats.t.cdf((estimate + margin) / se, df)
    return float(min(1.0, 2.0 * one_sided))


def replicate_test(values, margin: float | None, alpha: float, rule: str = ZERO_RULE) -> dict[str, float]:
    """One-sample tests of replicate values: estimate, t interval, p (by ``rule``), p against 0, TOST
    p, seeds, sd. Under the margin rule the p is :func:`beyond_margin_p` on the mean, its standard
    error and ``n - 1`` degrees of freedom, the test the size slope gets too."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    d = paired_difference(x, np.zeros_like(x), 1 - alpha)
    p_equivalence = math.nan
    p = d.p_value
    if d.n >= 2 and d.sd > 0 and margin:
        p_equivalence = float(DescrStatsW(x).ttost_mean(-margin, margin)[0])
        if rule == MARGIN_RULE:
            p = beyond_margin_p(d.mean, d.sd / math.sqrt(d.n), d.n - 1, margin)
    return {
        "estimate": d.mean,
        "ci_low": d.ci_low,
        "ci_high": d.ci_high,
        "p": p,
        "p_zero": d.p_value,
        "p_equivalence": p_equivalence,
        "seeds": d.n,
        "sd": d.sd,
    }


def slope_margin(gains: pd.DataFrame, margin: float | None) -> float | None:
    """The size slope's margin from the gain's: ``margin / ln(n_max / n_min)`` over the sizes of
    ``gains`` (None without a margin or with one size)."""
    sizes = pd.to_numeric(gains["n_train"], errors="coerce").dropna() if len(gains) else pd.Series([])
    if not margin or sizes.empty or sizes.max() <= sizes.min():
        return None
    return float(margin / math.log(sizes.max() / sizes.min()))


def slope_equivalence(slope: SizeSlope, margin: float | None) -> float:
    """TOST p of the grid model's slope within +/- ``margin``: the larger of two one-sided t tests."""
    if not slope.estimable or not margin:
        return math.nan
    p_above_low = stats.t.sf((slope.estimate + margin) / slope.se, slope.df)
    p_below_high = stats.t.cdf((slope.estimate - margin) / slope.se, slope.df)
    return float(max(p_above_low, p_below_high))


def _slope_row(slope: SizeSlope, margin: float | None, rule: str) -> dict[str, object]:
    p = slope.p_value
    if rule == MARGIN_RULE and margin and slope.estimable:
        p = beyond_margin_p(slope.estimate, slope.se, slope.df, margin)
    return {
        "estimate": slope.estimate,
        "ci_low": slope.ci_low,
        "ci_high": slope.ci_high,
        "p": p,
        "p_zero": slope.p_value,
        "p_equivalence": slope_equivalence(slope, margin),
        "margin": margin if margin else math.nan,
        "note": slope.note,
    }


def _interaction_row(interaction: InteractionWald) -> dict[str, object]:
    note = interaction.note
    if interaction.estimable:
        note = f"Wald F = {interaction.statistic:.3g} on {interaction.df_num:g} and {interaction.df_den:g} df"
    return {"p": interaction.p_value, "p_zero": interaction.p_value, "note": note}


def _power(
    row: dict, slope: SizeSlope | None, level: float, power: float, effect: float | None, rule: str
) -> None:
    """Fill ``mde`` and ``seeds_needed`` of ``row`` at test level ``level``. Under the margin rule the
    detectable effect is the margin plus what the test against it detects, and the seeds needed are
    those for the effect's excess over the margin (none for an effect within the margin)."""
    margin = row["margin"] if rule == MARGIN_RULE and np.isfinite(row["margin"]) else 0.0
    excess = effect - margin if effect is not None and effect > margin else None
    if row["kind"] in REPLICATE_KINDS:
        row["mde"] = margin + minimum_detectable_effect(row["sd"], row["seeds"], level, power)
        row["seeds_needed"] = replicates_needed(row["sd"], excess, level, power)
    elif row["kind"] == SIZE_SLOPE and slope is not None and slope.estimable:
        row["mde"] = margin + detectable_from_se(slope.se, level, power, slope.df)
        row["seeds_needed"] = replicates_needed_from_se(
            slope.se, row["seeds"], excess, level, power, slope.df
        )


def _row(
    gains: pd.DataFrame,
    hypothesis: Hypothesis,
    margin: float | None,
    alpha: float,
    grid: GridModel | None,
    margins: pd.DataFrame | None = None,
    rule: str = ZERO_RULE,
) -> dict[str, object]:
    """The unadjusted statistics of one hypothesis (a baseline hypothesis reads ``margins``)."""
    if hypothesis.margin is not None:
        margin = hypothesis.margin
    elif hypothesis.kind == SIZE_SLOPE and rule == MARGIN_RULE:
        margin = slope_margin(gains, margin)
    row: dict[str, object] = {
        "hypothesis": hypothesis.name,
        "kind": hypothesis.kind,
        "direction": hypothesis.direction,
        "margin": margin if hypothesis.kind != INTERACTION and margin else math.nan,
        "n_train": None,
        "note": "",
    }
    if hypothesis.kind in REPLICATE_KINDS:
        source = margins if hypothesis.kind == BASELINE else gains
        if source is None:
            raise ValueError(f"{hypothesis.name}: a baseline hypothesis needs the baseline margins table")
        values, n_train = replicate_values(source, hypothesis)
        row.update(replicate_test(values, margin, alpha, rule), n_train=n_train)
        if n_train is None:
            row["note"] = f"no gains at n_train={hypothesis.n_train} for {', '.join(hypothesis.couplings)}"
        elif row["seeds"] < 2:
            row["note"] = "fewer than two replicates"
        elif row["sd"] == 0:
            row["note"] = "every replicate has the same value: no t test"
    elif grid is not None:
        row["seeds"] = grid.seeds
        row.update(
            _slope_row(grid.slope, margin, rule)
            if hypothesis.kind == SIZE_SLOPE
            else _interaction_row(grid.interaction)
        )
    return row


def confirmatory_table(
    gains: pd.DataFrame,
    hypotheses: Sequence[Hypothesis],
    margin: float | None,
    effect_of_interest: float | None = None,
    alpha: float = 0.05,
    power: float = POWER,
    method: str = "holm",
    grid: GridModel | None = None,
    margins: pd.DataFrame | None = None,
    rule: str = ZERO_RULE,
) -> pd.DataFrame:
    """One row per hypothesis of the family, in declared order, with the columns of :data:`COLUMNS`.

    ``gains`` is the gains table (``coupling, sharing, n_train, seed, gain``; positive = multi-task
    better); ``margin`` and ``effect_of_interest`` are the primary metric's equivalence margin and
    effect of interest (a hypothesis's own ``margin`` wins). ``grid`` is fitted on ``gains`` when a
    grid-model hypothesis needs it and none is given. ``seeds`` is the number of replicates, ``mde``
    the minimum detectable effect at ``power`` and ``seeds_needed`` the replicates to detect
    ``effect_of_interest`` (both NaN where the spread is zero or unknown, and for the interaction);
    ``note`` says why something is not estimable (for the interaction: its Wald F). For the size
    slope under the margin rule, ``margin`` and ``effect_of_interest`` become ``x / ln(n_max /
    n_min)`` per unit of log(n_train) unless the hypothesis gives its own margin (the zero rule
    reads them per unit of log(n_train)). ``rule``: what counts as a difference
    (:data:`VERDICT_RULES`, see the module).
    """
    if rule not in VERDICT_RULES:
        raise ValueError(f"verdict rule {rule!r}: expected one of {', '.join(VERDICT_RULES)}")
    if grid is None and any(h.kind in (SIZE_SLOPE, INTERACTION) for h in hypotheses):
        grid = fit_grid_model(gains, alpha)
    level = alpha / max(1, len(hypotheses))
    rows = []
    for h in hypotheses:
        if h.kind == ANY_GAIN:
            margin_h = h.margin if h.margin is not None else margin
            row = any_gain_row(gains, h, margin_h, alpha, level, power, effect_of_interest, rule)
            rows.append(
                {"hypothesis": h.name, "kind": h.kind, "direction": h.direction, "margin": margin_h, **row}
            )
            continue
        row = _row(gains, h, margin, alpha, grid, margins, rule)
        row.update(mde=math.nan, seeds_needed=math.nan)
        row.setdefault("seeds", 0)
        effect = effect_of_interest
        if h.kind == SIZE_SLOPE and rule == MARGIN_RULE and h.margin is None and effect is not None:
            # in the slope's units, as its margin: the effect over the study's sizes
            effect = slope_margin(gains, effect)
        _power(row, grid.slope if grid is not None else None, level, power, effect, rule)
        rows.append(row)
    return _with_verdicts(pd.DataFrame(rows).reindex(columns=COLUMNS), alpha, method, rule)


def _with_verdicts(table: pd.DataFrame, alpha: float, method: str, rule: str) -> pd.DataFrame:
    """The family's table with its adjusted p-values, verdicts and the rule each row used."""
    table["p_adjusted"] = adjust_p_values(table["p"], method)
    table["p_equivalence_adjusted"] = adjust_p_values(table["p_equivalence"], method)
    columns = ("estimate", "p_adjusted", "p_equivalence_adjusted", "direction")
    table["verdict"] = [verdict(*values, alpha) for values in zip(*(table[c] for c in columns), strict=True)]
    table["n_train"] = table["n_train"].astype("Int64")
    table["seeds"] = table["seeds"].astype(int)
    table["verdict_rule"] = [
        ZERO_RULE if k == INTERACTION or not pd.notna(m) else rule
        for k, m in zip(table["kind"], table["margin"], strict=True)
    ]
    return table
