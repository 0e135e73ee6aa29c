"""The grid model: a planted slope and a planted interaction recovered, none found where there is none,
the statistics as statsmodels and scipy give them, and grids that cannot carry a term."""

import gc

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from mtrl.stats.grid_model import fit_grid_model, grid_formula, model_data, slope_df

SIZES = (100, 300, 1000)
COUPLINGS = ("tight", "loose")
SHARINGS = ("hard", "soft", "none")


def _gains(slopes=None, interaction=0.0, seeds=6, sd=0.01, shared=0.01, seed=0) -> pd.DataFrame:
    """Simulated gains: per-cell slopes in log size, an optional coupling x sharing interaction,
    noise per gain and per (size, seed) (the single-task partner the gains of a size and seed share)."""
    slopes = slopes or {}
    rng = np.random.default_rng(seed)
    rows = []
    for n in SIZES:
        partner = rng.normal(0, shared, seeds)
        for c, coupling in enumerate(COUPLINGS):
            for s, sharing in enumerate(SHARINGS):
                mean = 0.02 + slopes.get((coupling, sharing), 0.0) * np.log(n / 300)
                mean += interaction * (s - 1) * (1 if c == 0 else -1)
                gains = mean + partner + rng.normal(0, sd, seeds)
                rows += [(coupling, sharing, n, k, g) for k, g in enumerate(gains)]
    return pd.DataFrame(rows, columns=["coupling", "sharing", "n_train", "seed", "gain"])


CELL_SLOPES = {
    ("tight", "hard"): -0.04,
    ("tight", "soft"): -0.03,
    ("tight", "none"): -0.02,
    ("loose", "hard"): -0.01,
    ("loose", "soft"): 0.0,
    ("loose", "none"): -0.02,
}


def test_formula_and_data():
    data, note = model_data(_gains())
    assert note == "" and len(data) == 2 * 3 * 3 * 6
    # log size centred on the mean of the sizes' logs
    assert data.loc[data["n_train"] == 300, "log_size"].iloc[0] == pytest.approx(
        np.log(300) - np.mean(np.log(SIZES))
    )
    assert grid_formula(2, 3, 3) == "gain ~ C(coupling, Sum) * C(sharing, Sum) * log_size"
    assert grid_formula(1, 3, 1) == "gain ~ C(sharing, Sum)"
    assert grid_formula(1, 1, 1) == "gain ~ 1"
    assert slope_df(data) == 6 * (3 - 1) - 1


def test_planted_slope_is_recovered_as_the_average_over_cells():
    gains = _gains(CELL_SLOPES)
    model = fit_grid_model(gains)
    slope = model.slope
    assert slope.estimable and model.seeds == 6 and model.sizes == SIZES
    planted = np.mean(list(CELL_SLOPES.values()))  # -0.02
    assert slope.ci_low < planted < slope.ci_high and slope.p_value < 1e-4
    # balanced grid: the model's average slope is the mean of the cells' least-squares slopes
    per_cell = [
        np.polyfit(np.log(group["n_train"]), group["gain"], 1)[0]
        for _, group in gains.groupby(["coupling", "sharing"])
    ]
    assert slope.estimate == pytest.approx(np.mean(per_cell), rel=1e-6)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
def test_slope_statistics_are_statsmodels_and_scipy():
    gains = _gains(CELL_SLOPES)
    slope = fit_grid_model(gains, alpha=0.1).slope
    data, _ = model_data(gains)
    direct = smf.mixedlm(
        "gain ~ C(coupling, Sum) * C(sharing, Sum) * log_size",
        data,
        groups="seed",
        re_formula="1",
        vc_formula={"size": "0 + C(n_train)"},
    ).fit(reml=True, method="powell")
    assert slope.estimate == pytest.approx(direct.params["log_size"], rel=1e-6)
    assert slope.se == pytest.approx(direct.bse["log_size"], rel=1e-4)
    assert slope.df == 11
    t = slope.estimate / slope.se
    assert slope.p_value == pytest.approx(2 * stats.t.sf(abs(t), 11))
    low, high = stats.t.interval(0.9, 11, loc=slope.estimate, scale=slope.se)
    assert (slope.ci_low, slope.ci_high) == pytest.approx((low, high))


def test_planted_interaction_is_detected():
    interaction = fit_grid_model(_gains(interaction=0.01)).interaction
    assert interaction.estimable and interaction.p_value < 1e-3
    # 2 couplings x 3 sharing levels: 2 coupling x sharing terms, and the same 2 with log size
    assert interaction.df_num == 4 and len(interaction.terms) == 4
    assert sum(term.endswith(":log_size") for term in interaction.terms) == 2
    assert interaction.p_value == pytest.approx(
        stats.f.sf(interaction.statistic, interaction.df_num, interaction.df_den)
    )


def test_no_interaction_where_the_cells_differ_additively():
    # slopes and levels differ by coupling and by sharing, but additively
    additive = {
        (c, s): -0.01 * i - 0.005 * j for i, c in enumerate(COUPLINGS) for j, s in enumerate(SHARINGS)
    }
    model = fit_grid_model(_gains(additive, seed=3))
    assert model.interaction.p_value > 0.05
    assert model.slope.estimate == pytest.approx(np.mean(list(additive.values())), abs=0.005)


def test_slope_keeps_its_level_when_gains_share_their_partner():
    """The slope's error comes from the (seed, size) stratum, so its test keeps its level where the gains
    of one size and seed share noise. Grouping by seed alone rejects in about half of these fits; the
    normal reference instead of t (about 9% here) is beyond what 60 fits can tell from 5%."""
    fits, rejections = 60, 0
    gc.freeze()  # fewer objects for the garbage collector to walk in every fit
    try:
        for k in range(fits):
            slope = fit_grid_model(_gains(seeds=4, sd=0.005, shared=0.02, seed=100 + k)).slope
            rejections += slope.p_value < 0.05
    finally:
        gc.unfreeze()
    assert stats.binomtest(rejections, fits, 0.05, alternative="greater").pvalue > 0.01, rejections


@pytest.mark.parametrize(
    ("subset", "slope_note", "interaction_note"),
    [
        (lambda g: g[g["coupling"] == "tight"], "", "one coupling or one sharing level"),
        (lambda g: g[g["sharing"] == "hard"], "", "one coupling or one sharing level"),
        (lambda g: g[g["n_train"] == 300], "one training size: no slope in log(n_train)", ""),
        (
            lambda g: g[g["seed"] == 0],
            "fewer than two replicates (seeds)",
            "fewer than two replicates (seeds)",
        ),
        (lambda g: g.iloc[:0], "fewer than two replicates (seeds)", "fewer than two replicates (seeds)"),
        (
            # one cell at a single size: its slope, and so the full model, cannot be estimated
            lambda g: g[~((g["coupling"] == "tight") & (g["sharing"] == "hard") & (g["n_train"] != 100))],
            "the grid lacks (coupling, sharing, size) cells: its design is singular",
            "the grid lacks (coupling, sharing, size) cells: its design is singular",
        ),
    ],
)
def test_grids_that_cannot_carry_a_term_say_why(subset, slope_note, interaction_note):
    model = fit_grid_model(subset(_gains(CELL_SLOPES)))
    assert model.slope.note.startswith(slope_note) and model.slope.estimable == (not slope_note)
    assert model.interaction.note.startswith(interaction_note)
    assert model.interaction.estimable == (not interaction_note)
    if not slope_note:
        assert np.isfinite(model.slope.p_value)


def test_sharing_levels_missing_from_a_coupling_are_left_out():
    gains = _gains(CELL_SLOPES)
    gains = gains[~((gains["coupling"] == "loose") & (gains["sharing"] == "none"))]
    model = fit_grid_model(gains)
    assert model.sharings == ("hard", "soft") and model.note.endswith("left out: none")
    assert model.interaction.df_num == 2 and model.slope.estimable
