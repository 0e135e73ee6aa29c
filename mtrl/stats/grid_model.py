"""One model of the whole grid: the gain over coupling x sharing x log(training size), replicates grouped.

A linear mixed model (statsmodels ``MixedLM``, REML) of the gains table::

    gain ~ C(coupling, Sum) * C(sharing, Sum) * log_size

with ``log_size`` the natural log of ``n_train`` centred on its mean over the sizes, the replicate
(``seed``) as the grouping factor with a random intercept, and a variance component for each
(replicate, size): the single-task partner of every gain at one size and seed is the same run, so
the gains of one (size, seed) share its noise. Sum (deviation) coding makes every main effect an
equal-weight average over the levels of the other factors, so the coefficient of ``log_size`` is the
slope of the gain in log size averaged over couplings and sharing levels with equal weights, and the
coupling x sharing terms (with and without ``log_size``) are exactly the interaction.

- :func:`size_slope`: that average slope, a contrast of the fixed effects (``t_test`` with a contrast
  vector). Its reference distribution is t with the containment degrees of freedom of the
  (replicate, size) stratum where ``log_size`` varies, ``(replicate, size) groups - replicates - 1``
  (``seeds * (sizes - 1) - 1`` when balanced), not the normal one ``MixedLM`` reports: with 4-8
  seeds the normal reference is anti-conservative (about 10% false positives at 5% in simulations
  with a shared single-task partner), the t reference keeps its level.
- :func:`coupling_sharing_interaction`: the Wald F test (``wald_test``) that every coupling x sharing
  term is zero, at every size.

A grid that cannot carry a term (one replicate, one size, one coupling or sharing level, missing
cells, a singular or non-converging fit) gives a result that is not estimable, with the reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from mtrl.ordering import ordered

# optimizers tried in turn: Powell is fast and reaches the REML optimum on the boundary (a variance
# of 0), where the gradient methods often stop short; Nelder-Mead where Powell diverges
FIT_METHODS = ("powell", "nm", "lbfgs")
LOG_SIZE = "log_size"


@dataclass(frozen=True)
class SizeSlope:
    """Average slope of the gain in log(n_train) with its t interval and two-sided p-value."""

    estimate: float = math.nan
    se: float = math.nan
    df: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    note: str = ""

    @property
    def estimable(self) -> bool:
        return not self.note


@dataclass(frozen=True)
class InteractionWald:
    """Wald F test that all coupling x sharing terms of the grid model are zero."""

    statistic: float = math.nan
    df_num: float = math.nan
    df_den: float = math.nan
    p_value: float = math.nan
    terms: tuple[str, ...] = ()
    note: str = ""

    @property
    def estimable(self) -> bool:
        return not self.note


@dataclass(frozen=True)
class GridModel:
    """What the grid model says: the size slope, the interaction and what it was fitted on."""

    slope: SizeSlope
    interaction: InteractionWald
    seeds: int
    couplings: tuple[str, ...]
    sharings: tuple[str, ...]
    sizes: tuple[int, ...]
    formula: str = ""
    note: str = ""


def model_data(gains: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Rows of ``gains`` the model can use, with ``log_size``, and a note on what was left out.

    Keeps finite gains at the sharing levels every coupling has (a full coupling x sharing cross).
    """
    data = gains.dropna(subset=["gain"])
    couplings = ordered(data["coupling"])
    per_coupling = [set(data.loc[data["coupling"] == c, "sharing"]) for c in couplings]
    sharings = [s for s in ordered(data["sharing"]) if all(s in levels for levels in per_coupling)]
    dropped = sorted(set(data["sharing"]) - set(sharings))
    data = data[data["sharing"].isin(sharings)]
    log_n = np.log(data["n_train"].astype(float))
    sizes = np.log(np.unique(data["n_train"].astype(float)))
    data = data.assign(log_size=log_n - (sizes.mean() if len(sizes) else 0.0))
    note = f"sharing levels not shared by every coupling left out: {', '.join(dropped)}" if dropped else ""
    return data.reset_index(drop=True), note


def grid_formula(couplings: int, sharings: int, sizes: int) -> str:
    """The model's formula, leaving out factors with a single level (they carry no contrast)."""
    factors = [
        name
        for name, levels in (
            ("C(coupling, Sum)", couplings),
            ("C(sharing, Sum)", sharings),
            (LOG_SIZE, sizes),
        )
        if levels > 1
    ]
    return "gain ~ " + (" * ".join(factors) if factors else "1")


def _fit(data: pd.DataFrame, formula: str, sizes: int):
    """Fitted ``MixedLM`` or the reason it cannot be fitted (a string).

    Tries the optimizers of :data:`FIT_METHODS` in turn, each from the start, and keeps the first
    fit that converges to a finite likelihood.
    """
    vc = {"size": "0 + C(n_train)"} if sizes > 1 else None
    reason = "the mixed model did not converge"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and boundary notices: checked below
        model = smf.mixedlm(formula, data, groups="seed", re_formula="1", vc_formula=vc)
        if np.linalg.matrix_rank(model.exog) < model.exog.shape[1]:
            return "the grid lacks (coupling, sharing, size) cells: its design is singular"
        for method in FIT_METHODS:
            try:
                result = model.fit(reml=True, method=method)
            except (np.linalg.LinAlgError, ValueError) as err:
                reason = f"the mixed model cannot be fitted ({err})"
                continue
            if result.converged and np.isfinite(result.llf):
                return result
    return reason


def slope_df(data: pd.DataFrame) -> int:
    """Containment degrees of freedom of the slope: (seed, size) groups - seeds - 1."""
    groups = len(data[["seed", "n_train"]].drop_duplicates())
    return groups - data["seed"].nunique() - 1


def size_slope(result, data: pd.DataFrame, alpha: float = 0.05) -> SizeSlope:
    """Average slope of the gain in log(n_train), from the fitted grid model (see the module).

    The contrast vector picks the ``log_size`` coefficient (the equal-weight average slope under
    sum coding); ``t_test`` gives its estimate and standard error, scipy's t distribution with
    :func:`slope_df` degrees of freedom the interval and the p-value.
    """
    names = list(result.model.exog_names)
    df = slope_df(data)
    if LOG_SIZE not in names:
        return SizeSlope(note="one training size: no slope in log(n_train)")
    if df < 1:
        return SizeSlope(note="too few (seed, size) replicates to estimate the slope's error")
    contrast = np.zeros((1, len(names)))
    contrast[0, names.index(LOG_SIZE)] = 1.0
    test = result.t_test(contrast)
    estimate, se = float(np.squeeze(test.effect)), float(np.squeeze(test.sd))
    if not (np.isfinite(se) and se > 0):
        return SizeSlope(estimate=estimate, note="the slope's standard error is not estimable")
    low, high = stats.t.interval(1 - alpha, df, loc=estimate, scale=se)
    p = 2 * stats.t.sf(abs(estimate / se), df)
    return SizeSlope(estimate, se, float(df), float(low), float(high), float(p))


def interaction_terms(names: list[str]) -> list[str]:
    """Fixed-effect names of the coupling x sharing terms (also those with ``log_size``)."""
    return [n for n in names if "C(coupling" in n and "C(sharing" in n]


def coupling_sharing_interaction(result) -> InteractionWald:
    """Wald F test (``wald_test``) that every coupling x sharing term of the fitted model is zero."""
    params = list(result.params.index)  # fixed effects, then the variance parameters
    terms = interaction_terms(list(result.model.exog_names))
    if not terms:
        return InteractionWald(note="one coupling or one sharing level: no coupling x sharing interaction")
    restriction = np.zeros((len(terms), len(params)))
    for row, term in enumerate(terms):
        restriction[row, params.index(term)] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = result.wald_test(restriction, use_f=True, scalar=True)
    statistic = float(np.squeeze(test.statistic))
    if not np.isfinite(statistic):
        return InteractionWald(terms=tuple(terms), note="the interaction's covariance is not estimable")
    return InteractionWald(
        statistic, float(test.df_num), float(test.df_denom), float(np.squeeze(test.pvalue)), tuple(terms)
    )


def fit_grid_model(gains: pd.DataFrame, alpha: float = 0.05) -> GridModel:
    """Fit the grid model to a gains table (``coupling, sharing, n_train, seed, gain``).

    Returns the size slope with its ``(1 - alpha)`` interval and the interaction test; terms the
    grid cannot carry are not estimable, with the reason in their ``note``.
    """
    data, note = model_data(gains)
    couplings = tuple(ordered(data["coupling"]))
    sharings = tuple(ordered(data["sharing"]))
    sizes = tuple(sorted(int(n) for n in data["n_train"].unique()))
    seeds = int(data["seed"].nunique())
    formula = grid_formula(len(couplings), len(sharings), len(sizes))

    def unfit(reason: str) -> GridModel:
        return GridModel(
            SizeSlope(note=reason),
            InteractionWald(note=reason),
            seeds,
            couplings,
            sharings,
            sizes,
            formula,
            note,
        )

    if seeds < 2:
        return unfit("fewer than two replicates (seeds)")
    result = _fit(data, formula, len(sizes))
    if isinstance(result, str):
        return unfit(result)
    slope = size_slope(result, data, alpha)
    interaction = coupling_sharing_interaction(result)
    return GridModel(slope, interaction, seeds, couplings, sharings, sizes, formula, note)
