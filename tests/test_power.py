"""mtrl.stats.power against statsmodels' TTestPower and scipy's quantiles."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from mtrl.stats.power import (
    cell_power,
    detectable_from_se,
    minimum_detectable_effect,
    replicates_needed,
    replicates_needed_from_se,
)


def _power(effect_size, nobs, alpha):
    """Power to find the effect with its sign at two-sided level alpha (the module's definition)."""
    return TTestPower().power(effect_size=effect_size, nobs=nobs, alpha=alpha / 2, alternative="larger")


@pytest.mark.parametrize(("n", "alpha", "power"), [(4, 0.05, 0.8), (8, 0.01, 0.8), (20, 0.05, 0.9)])
def test_minimum_detectable_effect_is_ttestpower_times_sd(n, alpha, power):
    sd = 0.02
    direct = TTestPower().solve_power(nobs=n, alpha=alpha / 2, power=power, alternative="larger")
    got = minimum_detectable_effect(sd, n, alpha, power)
    assert got == pytest.approx(direct * sd, rel=1e-6)
    assert _power(got / sd, n, alpha) == pytest.approx(power, abs=1e-4)


def test_minimum_detectable_effect_close_to_the_two_sided_power():
    # where statsmodels' two-sided form computes, the two differ only by the wrong-side rejections
    two_sided = TTestPower().solve_power(nobs=8, alpha=0.05, power=0.8, alternative="two-sided")
    assert minimum_detectable_effect(1.0, 8, 0.05) == pytest.approx(two_sided, rel=1e-3)


def test_minimum_detectable_effect_with_two_and_three_replicates():
    # the two-sided TTestPower form returns NaN power here (scipy's noncentral t lower tail) and a wrong
    # solution; the one-sided form solves it
    for n in (2, 3):
        got = minimum_detectable_effect(1.0, n, 0.01)
        assert math.isfinite(got) and _power(got, n, 0.01) == pytest.approx(0.8, abs=1e-4)


@pytest.mark.parametrize(("sd", "n"), [(0.0, 5), (math.nan, 5), (0.1, 1), (0.1, 0)])
def test_minimum_detectable_effect_unknown(sd, n):
    assert math.isnan(minimum_detectable_effect(sd, n, 0.05))


@pytest.mark.parametrize(
    ("effect", "alpha"), [(0.5, 0.05), (0.2, 0.01), (1.0, 0.01), (10.0, 0.01), (0.05, 0.05)]
)
def test_replicates_needed_is_the_smallest_count_with_the_power(effect, alpha):
    needed = replicates_needed(1.0, effect, alpha)
    assert needed == int(needed) and needed >= 2
    assert _power(effect, needed, alpha) >= 0.8 - 1e-4
    if needed > 2:
        assert _power(effect, needed - 1, alpha) < 0.8
    direct = TTestPower().solve_power(effect_size=effect, alpha=alpha / 2, power=0.8, alternative="larger")
    if needed > 2:
        assert needed == math.ceil(direct)


def test_replicates_needed_scales_with_the_spread():
    assert replicates_needed(0.02, 0.01, 0.05) == replicates_needed(1.0, 0.5, 0.05)


@pytest.mark.parametrize(("sd", "effect"), [(0.0, 0.1), (math.nan, 0.1), (0.1, None), (0.1, 0.0), (0.1, -1)])
def test_replicates_needed_unknown(sd, effect):
    assert math.isnan(replicates_needed(sd, effect, 0.05))


def test_detectable_from_se_by_hand():
    # z(0.975) + z(0.8) = 1.959964 + 0.841621 = 2.801585
    assert detectable_from_se(0.1, 0.05) == pytest.approx(0.2801585, abs=1e-6)
    by_t = (stats.t.ppf(0.975, 7) + stats.t.ppf(0.8, 7)) * 0.1
    assert detectable_from_se(0.1, 0.05, df=7) == pytest.approx(by_t)
    assert math.isnan(detectable_from_se(0.0, 0.05)) and math.isnan(detectable_from_se(math.nan, 0.05))


def test_replicates_needed_from_se_by_hand():
    # detectable 0.2801585 with 4 replicates; 0.1 needs 4 * 2.801585**2 = 31.4 -> 32
    assert replicates_needed_from_se(0.1, 4, 0.1, 0.05) == 32
    # at 32 replicates the detectable value is at most the effect
    assert detectable_from_se(0.1 * math.sqrt(4 / 32), 0.05) <= 0.1
    assert replicates_needed_from_se(0.001, 4, 0.1, 0.05) == 2
    assert math.isnan(replicates_needed_from_se(0.1, 4, None, 0.05))
    assert math.isnan(replicates_needed_from_se(0.0, 4, 0.1, 0.05))


def test_cell_power_per_cell():
    rows = []
    for seed, (a, b) in enumerate([(0.01, 0.03), (0.02, 0.03), (0.04, 0.03), (0.02, 0.03)]):
        rows.append({"coupling": "tight", "sharing": "hard", "n_train": 100, "seed": seed, "gain": a})
        rows.append({"coupling": "tight", "sharing": "hard", "n_train": 300, "seed": seed, "gain": b})
    rows.append({"coupling": "tight", "sharing": "hard", "n_train": 300, "seed": 9, "gain": np.nan})
    table = cell_power(pd.DataFrame(rows), 0.05, 0.8, effect_of_interest=0.02)
    assert list(table.columns) == ["coupling", "sharing", "n_train", "seeds", "sd", "mde", "seeds_needed"]
    first = table.iloc[0]
    sd = np.std([0.01, 0.02, 0.04, 0.02], ddof=1)
    assert first["seeds"] == 4 and first["sd"] == pytest.approx(sd)
    assert first["mde"] == pytest.approx(minimum_detectable_effect(sd, 4, 0.05))
    assert first["seeds_needed"] == replicates_needed(sd, 0.02, 0.05)
    constant = table.iloc[1]  # the same gain in every replicate: nothing to say about power
    assert constant["seeds"] == 4 and constant["sd"] == 0
    assert math.isnan(constant["mde"]) and math.isnan(constant["seeds_needed"])
