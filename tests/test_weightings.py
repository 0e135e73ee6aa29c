"""Loss weighting as plug-ins: the registry and equal weighting (the study's fixed weights)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mtrl.architectures.hard import HardSharing
from mtrl.model import build_model, compile_model
from mtrl.tasks import TaskSpec
from mtrl.weightings import WEIGHTINGS, Weighting, create, get
from mtrl.weightings.equal import EqualWeighting


def test_registry_gives_every_weighting_by_name():
    assert get("equal") is EqualWeighting
    scaling = ["equal", "uw", "dwa", "rlw"]
    gradient = ["pcgrad", "cagrad", "mgda", "imtl_g", "nash_mtl", "aligned_mtl", "upgrad", "gradnorm", "famo"]
    assert WEIGHTINGS.names() == sorted(scaling + gradient)
    with pytest.raises(ValueError, match=r"unknown weighting 'graddrop'; known weightings: aligned_mtl, "):
        get("graddrop")


def test_equal_weights_are_one_unless_set_and_never_change():
    ew = create("equal", ["t", "a", "b"], weights={"a": 0.5})
    assert ew.constant and not ew.uses_gradients
    first = ew.loss_weights(0, {"t": [], "a": [], "b": []})
    assert first == {"t": 1.0, "a": 0.5, "b": 1.0}
    assert ew.loss_weights(7, {"t": [0.9, 0.4], "a": [2.0, 1.0], "b": [1.0, 3.0]}) == first
    assert EqualWeighting(["t"]).loss_weights(0, {}) == {"t": 1.0}


def test_equal_weighting_rejects_a_weight_of_another_task():
    with pytest.raises(ValueError, match=r"unknown task\(s\) 'z'; tasks of the run: t, a"):
        EqualWeighting(["t", "a"], {"z": 2.0})
    with pytest.raises(ValueError, match="at least 0"):
        EqualWeighting(["t", "a"], {"a": -1.0})
    with pytest.raises(ValueError, match="at least one task"):
        EqualWeighting([])


def test_combine_is_the_gradient_of_the_weighted_loss():
    ew = EqualWeighting(["t", "a"], {"a": 0.25})
    grads = {"t": np.array([1.0, 2.0]), "a": np.array([4.0, -8.0])}
    weights = ew.loss_weights(0, {})
    assert np.array_equal(ew.combine(grads, weights), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match="no gradient for task"):
        ew.combine({"t": grads["t"]}, weights)


def test_a_gradient_method_overrides_combine():
    class Projected(Weighting):
        """Keeps only the target's gradient (a test method)."""

        uses_gradients = True

        def loss_weights(self, epoch, task_losses):
            return dict.fromkeys(self.tasks, 1.0)

        def combine(self, grads, weights):
            return grads[self.tasks[0]]

    method = Projected(["t", "a"])
    grads = {"t": np.array([1.0]), "a": np.array([5.0])}
    assert method.combine(grads, method.loss_weights(0, {})) == np.array([1.0])


def _trained(loss_weights):
    tasks = [TaskSpec("t", "binary"), TaskSpec("a:b", "regression")]
    keras.utils.set_random_seed(3)
    model = build_model(12, tasks, HardSharing((8, 4), (0.0, 0.5), sharing_mask=[1, 0]))
    compile_model(model, tasks, "adam", 1e-2, loss_weights)
    rng = np.random.default_rng(0)
    x = rng.random((16, 12)).astype("float32")
    y = {
        "t": rng.integers(0, 2, (16, 1)).astype("float32"),
        "a_b": rng.normal(size=(16, 1)).astype("float32"),
    }
    for _ in range(3):
        model.train_on_batch(x, y)
    return model.get_weights()


def test_equal_weighting_reproduces_the_configured_loss_weights():
    """The weights of EW given to compile train exactly as ``training.loss_weights`` does today."""
    configured = {"a:b": 0.3}  # training.loss_weights of the run's tasks; the target gets 1
    today = _trained(configured)
    ew = EqualWeighting(["t", "a:b"], configured)
    assert all(np.array_equal(x, y) for x, y in zip(today, _trained(ew.loss_weights(0, {})), strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(today, _trained({}), strict=True))
