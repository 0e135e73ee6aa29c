"""GradNorm (:mod:`mtrl.weightings.gradnorm`, bound by :mod:`mtrl.backends.torch.gradients`)
against LibMTL's formula computed here in NumPy on the same numbers, step by step: the combined
update ``sum_t w_t g_t`` and the weights, with the logits' gradient of ``L_grad`` by finite
differences and a textbook Adam; and the degenerate cases (identical, opposed gradients, one task)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtrl.backends.torch.gradients import bind
from mtrl.weightings import create, method_options, supports_backend, weighting_of
from mtrl.weightings.gradnorm import GradNorm

LR = 0.05  # large enough that the weights move in a few steps


def _bound(tasks=("a", "b", "c"), alpha=1.5, learning_rate=LR) -> GradNorm:
    method = create("gradnorm", list(tasks), alpha=alpha, learning_rate=learning_rate)
    bind(method)
    return method


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _libmtl_gradnorm(jacobians, losses, alpha=1.5, lr=LR):
    """LibMTL's GradNorm step by step: ``w = K softmax(z)``, ``G = ||w_t g_t||``,
    ``r = (L / L0) / mean(L / L0)`` (``L0``: the first step's losses), ``L_grad = sum |G - const|``
    with ``const = mean(G) r^alpha`` held fixed; ``z`` by Adam (torch's defaults) on the central
    difference of ``L_grad``. Returns each step's ``(w @ J, w)``."""
    k = len(losses[0])
    z, m, v = np.zeros(k), np.zeros(k), np.zeros(k)
    first = np.asarray(losses[0], dtype=float)
    out = []
    for step, (jac, loss) in enumerate(zip(jacobians, losses, strict=True), start=1):
        jac, loss = np.asarray(jac, dtype=float), np.asarray(loss, dtype=float)

        def norms_of(logits, jac=jac):
            return np.linalg.norm((k * _softmax(logits))[:, None] * jac, axis=1)

        w = k * _softmax(z)
        ratio = loss / first
        const = norms_of(z).mean() * (ratio / ratio.mean()) ** alpha

        def l_grad(logits, const=const, norms_of=norms_of):
            return np.abs(norms_of(logits) - const).sum()

        h = 1e-6
        grad = np.array([(l_grad(z + h * e) - l_grad(z - h * e)) / (2 * h) for e in np.eye(k)])
        out.append((w @ jac, w))
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        z = z - lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return out


def _ours(method: GradNorm, jacobians, losses):
    out = []
    for jac, loss in zip(jacobians, losses, strict=True):
        direction, weights = method.aggregate(
            torch.tensor(np.asarray(jac), dtype=torch.float64), torch.tensor(loss, dtype=torch.float64)
        )
        out.append((direction.numpy(), weights.numpy()))
    return out


def _assert_same(ours, reference):
    for (d, w), (d_ref, w_ref) in zip(ours, reference, strict=True):
        assert w == pytest.approx(w_ref, abs=1e-6) and d == pytest.approx(d_ref, abs=1e-6)
        assert w.sum() == pytest.approx(len(w))


def test_gradnorm_matches_libmtls_formula_step_by_step():
    rng = np.random.default_rng(3)
    jacobians = rng.normal(size=(8, 3, 5)) * np.array([1.0, 3.0, 0.3])[:, None]  # unequal norms
    losses = np.abs(rng.normal(size=(8, 3))) + np.linspace(2, 1, 8)[:, None]
    for alpha in (1.5, 0.0):
        ours = _ours(_bound(alpha=alpha), jacobians, losses)
        _assert_same(ours, _libmtl_gradnorm(jacobians, losses, alpha=alpha))
        assert ours[0][1] == pytest.approx([1, 1, 1])  # logits 0 at the start
        assert np.abs(ours[-1][1] - 1).max() > 0.1  # and the weights moved


def test_gradnorm_raises_the_weight_of_the_task_that_trains_slower():
    g = np.array([1.0, 0.0])
    jacobians = [np.stack([g, 2 * g])] * 6
    losses = [[1.0, 1.0]] + [[1.0, 0.5]] * 5  # b's loss halves, a's stays: a lags
    ours = _ours(_bound(("a", "b")), jacobians, losses)
    _assert_same(ours, _libmtl_gradnorm(jacobians, losses))
    w = ours[-1][1]
    assert w[0] > 1 > w[1]


def test_gradnorm_on_degenerate_gradients():
    g = np.array([1.0, 2.0])
    # identical gradients and losses: G_t = mean(G), r_t = 1, so L_grad = 0 and nothing moves
    same = _ours(_bound(("a", "b")), [np.stack([g, g])] * 4, [[2.0, 2.0], [1.5, 1.5], [1.0, 1.0], [0.9, 0.9]])
    for direction, weights in same:
        assert weights == pytest.approx([1, 1]) and direction == pytest.approx(2 * g)
    # opposed gradients: the update is (w_a - w_b) g, 0 while the weights are equal
    jacobians, losses = [np.stack([g, -g])] * 5, [[1.0, 1.0], [0.8, 1.0], [0.6, 1.0], [0.5, 1.0], [0.4, 1.0]]
    opposed = _ours(_bound(("a", "b")), jacobians, losses)
    _assert_same(opposed, _libmtl_gradnorm(jacobians, losses))
    assert opposed[0][0] == pytest.approx([0, 0])
    for direction, weights in opposed:
        assert direction == pytest.approx((weights[0] - weights[1]) * g)
    assert opposed[-1][1][0] < 1  # a trains faster than b: its weight falls
    # one task: its weight is 1 and the update its gradient, whatever the losses
    alone = _ours(_bound(("a",)), [g[None, :]] * 3, [[1.0], [0.5], [2.0]])
    _assert_same(alone, _libmtl_gradnorm([g[None, :]] * 3, [[1.0], [0.5], [2.0]]))
    for direction, weights in alone:
        assert weights == pytest.approx([1.0]) and direction == pytest.approx(g)


def test_gradnorm_options_come_from_the_schema_and_the_run():
    assert method_options("gradnorm") == {"alpha": 1.5, "learning_rate": None}
    assert supports_backend("gradnorm", "torch") and not supports_backend("gradnorm", "jax")

    class Run:
        tasks, learning_rate, weighting, weighting_options = ("a", "b"), 0.003, "gradnorm", {}

    method = weighting_of(Run())
    assert method.learning_rate == 0.003 and method.alpha == 1.5  # null: the run's learning rate
    assert method.options == {"alpha": 1.5, "learning_rate": None}
    Run.weighting_options = {"learning_rate": 0.1}
    assert weighting_of(Run()).learning_rate == 0.1
    assert method.uses_gradients and method.uses_losses and not method.constant
    with pytest.raises(ValueError, match=r"weightings.gradnorm.alpha = -1 must be at least 0"):
        GradNorm(["a"], alpha=-1, learning_rate=0.1)
    with pytest.raises(ValueError, match=r"weightings.gradnorm.learning_rate = None .* must be greater"):
        GradNorm(["a"], alpha=1.5, learning_rate=None)


def test_gradnorm_needs_its_binding_and_the_losses():
    method = create("gradnorm", ["a", "b"], alpha=1.5, learning_rate=0.1)
    with pytest.raises(RuntimeError, match=r"GradNorm: not bound; it trains on backend\(s\) torch"):
        method.aggregate(np.ones((2, 2)), np.ones(2))
    bind(method)
    with pytest.raises(ValueError, match="needs the step's task losses"):
        method.combine({"a": torch.ones(2), "b": torch.ones(2)}, {"a": 1.0, "b": 1.0})
