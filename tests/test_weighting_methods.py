"""Loss weightings against their references: hand-computed weights (DWA, RLW, UW) and, for the
gradient methods, the combined update on fixed per-task gradients against LibMTL's formulas (or
TorchJD's own aggregator), with the degenerate cases: identical, opposed gradients, one task."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchjd.aggregation as tjd
from scipy.optimize import minimize

from mtrl.backends.torch.gradients import bind_torchjd
from mtrl.backends.torch.stacked import group_engine
from mtrl.sharing import split_entry
from mtrl.spec import RunSpec
from mtrl.weightings import create, method_options, supports_backend, weighting_of
from mtrl.weightings.gradient import GradientWeighting
from mtrl.weightings.scaling import DynamicWeightAverage
from mtrl.weightings.uncertainty import UncertaintyWeighting

GRADIENT = ["pcgrad", "cagrad", "mgda", "imtl_g", "nash_mtl", "aligned_mtl", "upgrad"]
CONFLICT = np.array([[1.0, 0.0], [-1.0, 1.0]])  # g1 . g2 = -1: the tasks conflict


def test_dwa_weights_by_hand():
    dwa = create("dwa", ["a", "b"], **method_options("dwa"))
    assert dwa.temperature == 2  # the schema's default
    losses = {"a": [3.0, 1.0, 0.5], "b": [2.0, 1.0, 1.0]}
    assert dwa.loss_weights(0, {"a": [], "b": []}) == {"a": 1.0, "b": 1.0}
    assert dwa.loss_weights(1, {"a": [1.0], "b": [1.0]}) == {"a": 1.0, "b": 1.0}
    # r = (0.5 / 1, 1 / 1); w = 2 * softmax(r / 2)
    e_a, e_b = math.exp(0.25), math.exp(0.5)
    weights = dwa.loss_weights(3, losses)
    assert weights["a"] == pytest.approx(2 * e_a / (e_a + e_b)) and weights["b"] == pytest.approx(
        2 * e_b / (e_a + e_b)
    )
    assert sum(weights.values()) == pytest.approx(2)
    with pytest.raises(ValueError, match=r"weightings.dwa.temperature = 0 must be greater than 0"):
        DynamicWeightAverage(["a"], 0)


def test_rlw_weights_are_a_seeded_softmax_of_normal_draws_per_epoch():
    class Run:
        tasks, seed, weighting, weighting_options = ("a", "b", "c"), 7, "rlw", {}

    rlw = weighting_of(Run())
    z = np.random.default_rng([7, 4]).standard_normal(3)
    expected = np.exp(z) / np.exp(z).sum()
    assert list(rlw.loss_weights(4, {}).values()) == pytest.approx(list(expected))
    assert rlw.loss_weights(4, {}) == rlw.loss_weights(4, {"a": [1.0]})  # no state, no losses
    assert rlw.loss_weights(5, {}) != rlw.loss_weights(4, {})
    assert create("rlw", ["a", "b", "c"], seed=8).loss_weights(4, {}) != rlw.loss_weights(4, {})


def test_uw_weights_and_objective_by_hand():
    uw = create("uw", ["a", "b"])
    assert uw.learned and not uw.constant and uw.loss_weights(0, {}) == {"a": 1.0, "b": 1.0}
    assert UncertaintyWeighting.weights([0.0, math.log(2)]) == pytest.approx([1.0, 0.5])
    assert UncertaintyWeighting.objective([2.0, 3.0], [0.0, math.log(2)]) == pytest.approx(
        2 + 1.5 + math.log(2)
    )
    # the optimum of each term: exp(-s) = 1 / L
    loss, h = 4.0, 1e-5
    s = math.log(loss)
    slope = (
        (UncertaintyWeighting.objective([loss], [s + h]) - UncertaintyWeighting.objective([loss], [s - h]))
        / 2
        / h
    )
    assert slope == pytest.approx(0, abs=1e-6)


def test_sharing_entries_name_a_network_and_a_weighting():
    assert split_entry("low") == ("low", "equal") and split_entry("low+uw") == ("low", "uw")
    assert split_entry("mmoe+pcgrad") == ("mmoe", "pcgrad") and split_entry("cross_stitch") == (
        "cross_stitch",
        "equal",
    )
    assert supports_backend("uw", "jax") and supports_backend("pcgrad", "torch")
    assert not supports_backend("pcgrad", "tensorflow")
    assert method_options("cagrad") == {"c": 0.5} and method_options("cagrad", {"c": 0.2}) == {"c": 0.2}


def _bound(name: str, tasks=("a", "b")) -> GradientWeighting:
    method = create(name, list(tasks), **method_options(name))
    bind_torchjd(method)
    return method


def _combine(method: GradientWeighting, rows: np.ndarray) -> np.ndarray:
    grads = {t: torch.tensor(row, dtype=torch.float64) for t, row in zip(method.tasks, rows, strict=True)}
    return method.combine(grads, dict.fromkeys(method.tasks, 1.0)).numpy()


def _libmtl_pcgrad(rows: np.ndarray) -> np.ndarray:
    """LibMTL's PCGrad for two tasks (the order of projection does not matter with two)."""
    g1, g2 = rows
    p1 = g1 - min(g1 @ g2, 0) / (g2 @ g2) * g2
    p2 = g2 - min(g2 @ g1, 0) / (g1 @ g1) * g1
    return p1 + p2


def _libmtl_mgda(rows: np.ndarray) -> np.ndarray:
    """Sener & Koltun's closed form for two tasks: the min-norm point of the segment."""
    g1, g2 = rows
    alpha = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
    return alpha * g1 + (1 - alpha) * g2


def _libmtl_imtl_g(rows: np.ndarray) -> np.ndarray:
    """LibMTL's IMTL-G: alpha = g1 U^T (D U^T)^-1, D = g1 - g_t, U = u1 - u_t."""
    units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    d, u = rows[0] - rows[1:], units[0] - units[1:]
    alpha = rows[0] @ u.T @ np.linalg.inv(d @ u.T)
    return np.concatenate([[1 - alpha.sum()], alpha]) @ rows


def _libmtl_cagrad(rows: np.ndarray, c: float) -> np.ndarray:
    """LibMTL's CAGrad (``rescale=0``, as TorchJD) with its scipy solver."""
    gg, m = rows @ rows.T, len(rows)
    b = np.ones(m) / m
    scale = c * math.sqrt(gg.mean() + 1e-8) + 1e-8

    def objective(x):
        return x @ gg @ b + scale * math.sqrt(x @ gg @ x + 1e-8)

    constraint = {"type": "eq", "fun": lambda x: 1 - x.sum()}
    w = minimize(objective, b, bounds=[(0, 1)] * m, constraints=constraint).x
    gw = w @ rows
    return rows.mean(0) + scale / (np.linalg.norm(gw) + 1e-8) * gw


def _aligned_mtl(rows: np.ndarray) -> np.ndarray:
    """Senushkin et al.'s balance transformation (scale: the smallest eigenvalue), applied to the
    mean preference as TorchJD does (LibMTL sums instead: a factor of the number of tasks)."""
    values, vectors = np.linalg.eigh(rows @ rows.T)
    keep = values > values.max() * len(values) * np.finfo(float).eps
    values, vectors = values[keep], vectors[:, keep]
    balance = math.sqrt(values.min()) * vectors @ np.diag(values**-0.5) @ vectors.T
    return (balance @ (np.ones(len(rows)) / len(rows))) @ rows


REFERENCES = {
    "pcgrad": _libmtl_pcgrad,
    "mgda": _libmtl_mgda,
    "imtl_g": _libmtl_imtl_g,
    "cagrad": lambda rows: _libmtl_cagrad(rows, 0.5),
    "aligned_mtl": _aligned_mtl,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradient_method_matches_its_reference_formula(name):
    rng = np.random.default_rng(0)
    for rows in (CONFLICT, rng.normal(size=(2, 5))):
        assert _combine(_bound(name), rows) == pytest.approx(REFERENCES[name](rows), abs=2e-3)


def test_upgrad_matches_torchjd_and_the_dual_cone_projection():
    # TorchJD's documented example
    rows = np.array([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]])
    assert _combine(_bound("upgrad"), rows) == pytest.approx([0.2929, 1.9004, 1.9004], abs=1e-3)
    # two conflicting rows: each projected onto the other's half-space, then averaged
    assert _combine(_bound("upgrad"), CONFLICT) == pytest.approx([0.25, 0.75], abs=1e-3)


def test_nash_mtl_on_identical_gradients_is_the_bargaining_solution():
    g = np.array([1.0, 2.0])
    # (G alpha)_i = 1 / alpha_i with G = |g|^2 everywhere: alpha_i = 1 / (|g| sqrt(m)), then the
    # update is clipped to max_norm (1)
    unclipped = 2 * g / (np.linalg.norm(g) * math.sqrt(2))
    expected = unclipped / max(1.0, np.linalg.norm(unclipped))
    assert _combine(_bound("nash_mtl"), np.stack([g, g])) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("name", GRADIENT)
def test_gradient_method_equals_torchjd_on_the_same_numbers(name):
    rows = np.random.default_rng(1).normal(size=(3, 6))
    method = _bound(name, ("a", "b", "c"))
    cls = getattr(tjd, method.aggregator)
    torch.manual_seed(0)  # PCGrad draws its order of projection
    ours = _combine(method, rows)
    torch.manual_seed(0)
    reference = cls(**method.aggregator_arguments())(torch.tensor(rows)).numpy()
    assert ours == pytest.approx(reference, abs=1e-6)


@pytest.mark.parametrize("name", GRADIENT)
def test_degenerate_gradients(name):
    g = np.array([1.0, 2.0])
    same = _combine(_bound(name), np.stack([g, g]))
    assert abs(same[0] * g[1] - same[1] * g[0]) < 1e-6 and same @ g > 0  # along g
    if name != "nash_mtl":  # Nash-MTL solves for two or more tasks
        alone = _combine(_bound(name, ("a",)), g[None, :])
        factor = 1 + method_options("cagrad")["c"] if name == "cagrad" else 1.0  # CAGrad: g0 + c g
        assert alone == pytest.approx(factor * g, abs=1e-3)
    opposed = _combine(_bound(name), np.stack([g, -g]))
    assert opposed == pytest.approx([0.0, 0.0], abs=1e-3)


def test_an_unbound_gradient_method_says_where_it_trains():
    method = create("pcgrad", ["a", "b"])
    grads = {"a": np.ones(2), "b": np.ones(2)}
    with pytest.raises(RuntimeError, match=r"train on backend\(s\) torch, which bind TorchJD's PCGrad"):
        method.combine(grads, {"a": 1.0, "b": 1.0})
    with pytest.raises(ValueError, match="no gradient for task"):
        method.combine({"a": np.ones(2)}, {"a": 1.0, "b": 1.0})


@pytest.mark.parametrize(
    ("name", "stacked"),
    [("equal", True), ("pcgrad", False), ("upgrad", False), ("gradnorm", False), ("famo", False)],
)
def test_gradient_methods_never_train_stacked(name, stacked):
    """A replicate group of a gradient method trains its runs one by one (one backward pass per
    task), not in the stacked loop, which minimises the plain weighted sum."""
    spec = RunSpec(
        tasks=["a", "b"], target="a", n_train=8, seed=0, sharing_mask=[True, False], widths=(4, 4),
        dropout=(0.0, 0.0), weighting=name,
    )  # fmt: skip
    assert (group_engine(spec) is not None) == stacked
