"""Power of the study's tests: the minimum detectable effect and the replicates needed for an effect.

Two kinds of test need it:

- one-sample t tests over replicates (the per-cell gains and the ``gain`` and ``coupling_contrast``
  hypotheses): statsmodels ``TTestPower`` solved for the effect size (in standard deviations of the
  replicate values, times the observed standard deviation gives the effect in the metric's units) or
  for the number of replicates. The power is that of finding the effect *with its sign*: the
  one-sided power at ``alpha / 2`` (``alternative="larger"``), which is what a verdict in a stated
  direction needs; it differs from the two-sided power only by the chance of a rejection on the
  wrong side, and it avoids the two-sided form's lower tail, where the noncentral t of scipy
  (``special.nctdtr``) returns NaN for large effects with two or three replicates;
- a coefficient of the grid model with its standard error and degrees of freedom (the slope in log
  size): the textbook approximation ``MDE = (q(1 - alpha/2) + q(power)) * se`` with ``q`` the t
  quantiles (scipy ``stats.t.ppf``; normal quantiles when the degrees of freedom are unknown), and
  the replicates needed by scaling the standard error with ``sqrt(replicates / needed)``.

Every function returns NaN where the answer is unknown: fewer than two replicates, a standard
deviation of zero or not finite, no effect of interest, or a power solver that does not converge
(statsmodels' noncentral t is NaN for very large effects with two replicates; a solution is kept
only when the power at it is the power asked for).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestPower
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from mtrl.stats.intervals import mean_interval
from mtrl.stats.pairing import CELL_KEYS

POWER = 0.8  # of every minimum detectable effect, unless the config says otherwise
_POWER_TOLERANCE = 1e-3  # how far the power at a solver's answer may be from the power asked for


def _known(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value)) and value > 0


def _t_power(effect_size: float, nobs: float, alpha: float) -> float:
    """Power of the two-sided test at ``alpha`` to find the effect with its sign (see the module)."""
    return float(
        TTestPower().power(effect_size=effect_size, nobs=nobs, alpha=alpha / 2, alternative="larger")
    )


def _solve(alpha: float, **kwds: float | None) -> float:
    """``TTestPower().solve_power`` for the one argument given as None; NaN when it fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        solution = TTestPower().solve_power(alpha=alpha / 2, alternative="larger", **kwds)
    return float(solution) if solution is not None and np.isfinite(solution) else math.nan


def minimum_detectable_effect(sd: float, n: int, alpha: float, power: float = POWER) -> float:
    """Smallest true mean a two-sided one-sample t test over ``n`` replicates detects with ``power``.

    In the units of the values: the effect size ``TTestPower`` solves for (in standard deviations)
    times ``sd``. NaN for fewer than two replicates or an ``sd`` that is zero or unknown.
    """
    if n < 2 or not _known(sd):
        return math.nan
    effect_size = _solve(alpha, effect_size=None, nobs=n, power=power)
    if not np.isfinite(effect_size) or abs(_t_power(effect_size, n, alpha) - power) > _POWER_TOLERANCE:
        return math.nan
    return effect_size * sd


def replicates_needed(sd: float, effect: float | None, alpha: float, power: float = POWER) -> float:
    """Replicates a two-sided one-sample t test needs to detect a true mean ``effect`` with ``power``.

    ``TTestPower`` solved for the number of observations at effect size ``effect / sd``, rounded up,
    at least 2. NaN where ``sd`` is zero or unknown or there is no positive ``effect``.
    """
    if not _known(sd) or not _known(effect):
        return math.nan
    effect_size = effect / sd
    if _t_power(effect_size, 2, alpha) >= power:
        return 2.0
    nobs = _solve(alpha, effect_size=effect_size, nobs=None, power=power)
    if not np.isfinite(nobs) or abs(_t_power(effect_size, nobs, alpha) - power) > _POWER_TOLERANCE:
        return math.nan
    return float(max(2, math.ceil(nobs - 1e-9)))


def _quantile_sum(alpha: float, power: float, df: float | None) -> float:
    """``q(1 - alpha/2) + q(power)``: t quantiles with ``df`` degrees of freedom, normal ones without."""
    if df is None or not np.isfinite(df):
        return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def detectable_from_se(se: float, alpha: float, power: float = POWER, df: float | None = None) -> float:
    """Minimum detectable value of a coefficient with standard error ``se``.

    ``(q(1 - alpha/2) + q(power)) * se``: the usual approximation for a two-sided Wald or t test (it
    ignores the far tail); ``q`` are t quantiles with ``df`` degrees of freedom, or normal quantiles
    when ``df`` is None.
    """
    if not _known(se):
        return math.nan
    return _quantile_sum(alpha, power, df) * se


def replicates_needed_from_se(
    se: float,
    replicates: int,
    effect: float | None,
    alpha: float,
    power: float = POWER,
    df: float | None = None,
) -> float:
    """Replicates for a coefficient estimated with ``se`` from ``replicates`` to detect ``effect``.

    The standard error shrinks as ``1 / sqrt(replicates)``, so the detectable value at ``needed``
    replicates is ``detectable_from_se(se) * sqrt(replicates / needed)``; solved for ``needed``, rounded
    up, at least 2. The quantiles stay those of ``df`` (a slight overestimate where more replicates
    would add degrees of freedom). NaN where ``se`` or ``effect`` is zero or unknown.
    """
    if replicates < 1 or not _known(se) or not _known(effect):
        return math.nan
    ratio = detectable_from_se(se, alpha, power, df) / effect
    return float(max(2, math.ceil(replicates * ratio**2 - 1e-9)))


def cell_power(
    gains: pd.DataFrame,
    alpha: float,
    power: float = POWER,
    effect_of_interest: float | None = None,
) -> pd.DataFrame:
    """Per cell of the grid (``coupling``, ``sharing``, ``n_train``): power of its paired t test.

    ``gains`` has one row per replicate (``coupling, sharing, n_train, seed, gain``). Columns:
    ``seeds`` (replicates with a finite gain), ``sd`` (their standard deviation), ``mde`` (minimum
    detectable gain at ``power`` with those seeds, :func:`minimum_detectable_effect`) and
    ``seeds_needed`` (to detect ``effect_of_interest``, :func:`replicates_needed`). ``alpha`` is the
    level of each cell's test: pass the family's adjusted level (e.g. alpha over the number of cells,
    Bonferroni's bound of Holm's first step) for the effect that survives the adjustment.
    """
    out = []
    for keys, group in gains.dropna(subset=["gain"]).groupby(CELL_KEYS, sort=False):
        spread = mean_interval(group["gain"])  # sd 0 for identical values up to rounding
        sd = spread.sd
        out.append(
            {
                **dict(zip(CELL_KEYS, keys, strict=True)),
                "seeds": spread.n,
                "sd": sd,
                "mde": minimum_detectable_effect(sd, spread.n, alpha, power),
                "seeds_needed": replicates_needed(sd, effect_of_interest, alpha, power),
            }
        )
    return pd.DataFrame(out, columns=[*CELL_KEYS, "seeds", "sd", "mde", "seeds_needed"])
