"""The ``any_gain`` hypothesis: does some cell of the grid gain? One row of the confirmatory family.

Every cell (coupling x sharing x size) is tested with a paired t test of its replicate gains,
one-sided in the hypothesis's direction, against the margin under the family's ``margin`` rule
(does the cell gain more than the margin?) or against 0 under the ``zero`` rule (the per-cell grid's
test; :mod:`mtrl.stats.confirmatory`); the hypothesis's p is the
smallest Holm-adjusted p over the cells (statsmodels ``multipletests``): a min-p test of the global
null "no cell gains", valid whatever the cells' dependence. The estimate and interval are those of
that cell, the interval at the family's per-cell level ``alpha / cells`` (simultaneous over the cells,
Bonferroni). Equivalence is the intersection-union test: every cell within the margin, so its p is
the largest of the cells' TOST p-values (each at alpha: an intersection-union test needs no
adjustment). The minimum detectable effect is the largest of the cells' at the Bonferroni level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from mtrl.stats.hypotheses import GREATER, LESS, MARGIN_RULE, ZERO_RULE, Hypothesis
from mtrl.stats.intervals import paired_difference
from mtrl.stats.multiplicity import adjust_p_values
from mtrl.stats.pairing import CELL_KEYS
from mtrl.stats.power import minimum_detectable_effect, replicates_needed


def _one_sided(values: np.ndarray, direction: str, margin: float = 0.0) -> float:
    """The t test's p of the mean against ``margin`` in the hypothesis's direction (``-margin`` for
    ``less``); a two-sided hypothesis: the smaller side's p doubled (at most 1)."""
    if len(values) < 2 or np.std(values) == 0:
        return math.nan

    def p(popmean: float, alternative: str) -> float:
        return float(stats.ttest_1samp(values, popmean, alternative=alternative).pvalue)

    if direction == GREATER:
        return p(margin, "greater")
    if direction == LESS:
        return p(-margin, "less")
    return min(1.0, 2.0 * min(p(margin, "greater"), p(-margin, "less")))


def any_gain_row(
    gains: pd.DataFrame,
    hypothesis: Hypothesis,
    margin: float | None,
    alpha: float,
    level: float,
    power: float,
    effect: float | None,
    rule: str = ZERO_RULE,
) -> dict[str, object]:
    """Statistics of an ``any_gain`` hypothesis (see the module); ``level``: the family's per-test
    level; ``rule``: ``margin`` (test each cell against the margin) or ``zero``."""
    against = margin if rule == MARGIN_RULE and margin else 0.0
    cells = []
    for keys, group in gains.groupby(CELL_KEYS, sort=True):
        values = group["gain"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        tost = math.nan
        if len(values) >= 2 and np.std(values) > 0 and margin:
            tost = float(DescrStatsW(values).ttost_mean(-margin, margin)[0])
        cells.append((keys, values, _one_sided(values, hypothesis.direction, against), tost))
    if not cells:
        return {"seeds": 0, "note": "no cells"}
    p_adjusted = adjust_p_values([c[2] for c in cells], "holm")
    p_zero = adjust_p_values([_one_sided(c[1], hypothesis.direction) for c in cells], "holm")
    best = int(np.nanargmin(p_adjusted)) if np.isfinite(p_adjusted).any() else 0
    keys, values, _, _ = cells[best]
    simultaneous = paired_difference(values, np.zeros_like(values), 1 - alpha / len(cells))
    sds = [float(np.std(c[1], ddof=1)) if len(c[1]) >= 2 else math.nan for c in cells]
    mdes = [
        against + minimum_detectable_effect(sd, len(c[1]), level / len(cells), power)
        for sd, c in zip(sds, cells, strict=True)
    ]
    excess = effect - against if effect is not None and effect > against else None
    needed = [replicates_needed(sd, excess, level / len(cells), power) for sd in sds]
    tosts = [c[3] for c in cells]
    return {
        "estimate": simultaneous.mean,
        "ci_low": simultaneous.ci_low,
        "ci_high": simultaneous.ci_high,
        "p": float(p_adjusted[best]),
        "p_zero": float(np.nanmin(p_zero)) if np.isfinite(p_zero).any() else math.nan,
        "p_equivalence": max(tosts) if all(np.isfinite(tosts)) else math.nan,
        "seeds": int(min(len(c[1]) for c in cells)),
        "mde": max(mdes) if all(np.isfinite(mdes)) else math.nan,
        "seeds_needed": max(needed) if all(np.isfinite(needed)) else math.nan,
        "n_train": int(keys[2]),
        "note": f"{len(cells)} cells; the strongest: {keys[0]} / {keys[1]} / n = {int(keys[2])}",
    }
