"""FAMO (:mod:`mtrl.weightings.famo`, bound by :mod:`mtrl.backends.torch.gradients`) against
LibMTL's formula computed here in NumPy on the same numbers, step by step: the weights as the
gradient of ``sum_t s_t log(L_t + 1e-8) / c`` by the losses (finite differences), the update of
the logits as softmax's vector-Jacobian product with the log-loss decrease (finite differences)
plus L2 decay, by a textbook Adam; and the degenerate cases (identical, opposed gradients, one task)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtrl.backends.torch.gradients import bind
from mtrl.weightings import create, method_options, supports_backend
from mtrl.weightings.famo import FAMO


def _bound(tasks=("a", "b", "c")) -> FAMO:
    method = create("famo", list(tasks), **method_options("famo"))
    bind(method)
    return method


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _central(f, x: np.ndarray, h: float) -> np.ndarray:
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(len(x))])


def _libmtl_famo(jacobians, losses, losses_after, lr=0.025, gamma=1e-3):
    """LibMTL's FAMO step by step: the update is the gradient of ``sum_t log(D_t) s_t / c``
    (``D = L + 1e-8``, ``c = sum(s / D)`` fixed); after the step ``z`` takes an Adam step on
    ``d/dz [softmax(z) . delta] + gamma z`` with ``delta = log D - log D'``. Returns each step's
    ``(w @ J, w)``."""
    k = len(losses[0])
    z, m, v = np.zeros(k), np.zeros(k), np.zeros(k)
    out = []
    for step, (jac, loss, after) in enumerate(zip(jacobians, losses, losses_after, strict=True), start=1):
        jac, loss, after = (np.asarray(a, dtype=float) for a in (jac, loss, after))
        s = _softmax(z)
        c = (s / (loss + 1e-8)).sum()

        def objective(x, s=s, c=c):
            return (np.log(x + 1e-8) * s / c).sum()

        w = _central(objective, loss, 1e-7 * loss.min())
        out.append((w @ jac, w))
        delta = np.log(loss + 1e-8) - np.log(after + 1e-8)
        grad = _central(lambda logits, delta=delta: _softmax(logits) @ delta, z, 1e-6) + gamma * z
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        z = z - lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return out


def _ours(method: FAMO, jacobians, losses, losses_after):
    out = []
    for jac, loss, after in zip(jacobians, losses, losses_after, strict=True):
        direction, weights = method.aggregate(
            torch.tensor(np.asarray(jac), dtype=torch.float64), torch.tensor(loss, dtype=torch.float64)
        )
        method.update(after)
        out.append((direction.numpy(), weights.numpy()))
    return out


def _assert_same(ours, reference):
    for (d, w), (d_ref, w_ref) in zip(ours, reference, strict=True):
        assert w == pytest.approx(w_ref, rel=1e-5) and d == pytest.approx(d_ref, rel=1e-5, abs=1e-8)
        assert w.sum() == pytest.approx(1)


def test_famo_matches_libmtls_formula_step_by_step():
    rng = np.random.default_rng(5)
    jacobians = rng.normal(size=(12, 3, 5))
    losses = np.abs(rng.normal(size=(12, 3))) + 0.2
    after = losses * rng.uniform(0.5, 1.0, size=(12, 3))  # each step lowers each loss by its share
    ours = _ours(_bound(), jacobians, losses, after)
    _assert_same(ours, _libmtl_famo(jacobians, losses, after))
    # at the start (s = 1/K) the weights are the inverse losses, normalised
    assert ours[0][1] == pytest.approx((1 / losses[0]) / (1 / losses[0]).sum())


def test_famo_raises_the_weight_of_the_task_whose_loss_falls_less():
    method = _bound(("a", "b"))
    for _ in range(20):  # equal losses; after each step a's is unchanged and b's halved
        method.aggregate(torch.eye(2, dtype=torch.float64), torch.tensor([1.0, 1.0], dtype=torch.float64))
        method.update([1.0, 0.5])
    share = method.loss_weights(0, {})
    assert share["a"] > 0.5 > share["b"]


def test_famo_on_degenerate_gradients():
    g = np.array([1.0, 2.0])
    losses, after = [[1.0, 2.0], [0.9, 1.5], [0.8, 1.4]], [[0.9, 1.5], [0.8, 1.4], [0.8, 1.0]]
    # identical gradients: the weights sum to 1, so the update is g whatever they are
    same = _ours(_bound(("a", "b")), [np.stack([g, g])] * 3, losses, after)
    _assert_same(same, _libmtl_famo([np.stack([g, g])] * 3, losses, after))
    for direction, _ in same:
        assert direction == pytest.approx(g)
    # opposed gradients: (w_a - w_b) g, 0 where the losses (and so the weights) are equal
    opposed = _ours(_bound(("a", "b")), [np.stack([g, -g])] * 3, losses, after)
    _assert_same(opposed, _libmtl_famo([np.stack([g, -g])] * 3, losses, after))
    for direction, weights in opposed:
        assert direction == pytest.approx((weights[0] - weights[1]) * g)
    balanced = _ours(_bound(("a", "b")), [np.stack([g, -g])], [[0.7, 0.7]], [[0.6, 0.6]])
    assert balanced[0][0] == pytest.approx([0, 0])
    # one task: its weight is 1 and the update its gradient
    alone = _ours(_bound(("a",)), [g[None, :]] * 3, [[1.0], [0.5], [2.0]], [[0.5], [2.0], [1.0]])
    for direction, weights in alone:
        assert weights == pytest.approx([1.0]) and direction == pytest.approx(g)


def test_famo_options_and_errors():
    assert method_options("famo") == {"learning_rate": 0.025, "weight_decay": 0.001}
    assert supports_backend("famo", "torch") and not supports_backend("famo", "tensorflow")
    method = create("famo", ["a", "b"], learning_rate=0.1, weight_decay=0.0)
    assert method.uses_gradients and method.uses_losses and method.scales_private and not method.constant
    with pytest.raises(ValueError, match=r"weightings.famo.learning_rate = 0 must be greater than 0"):
        FAMO(["a"], learning_rate=0, weight_decay=0.0)
    with pytest.raises(RuntimeError, match=r"FAMO: not bound; it trains on backend\(s\) torch"):
        method.aggregate(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="update before any step"):
        method.update([1.0, 1.0])
    bind(method)
    with pytest.raises(ValueError, match="needs the step's task losses"):
        method.combine({"a": torch.ones(2), "b": torch.ones(2)}, {"a": 1.0, "b": 1.0})
