"""Short training runs with each family of loss weighting on the tiny synthetic data set:
loss scaling in this process (JAX) and on TensorFlow, gradient methods and UW on PyTorch, each
other backend in a process of its own (tests/weighting_checks.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from mtrl.train import RunSpec, train_run
from workflow import REPO

TASKS = ["t_target", "t_close", "t_reg"]


def _run(tmp_path, prepared, weighting, backend="jax", device_rows=None, **kw):
    spec = RunSpec(
        tasks=TASKS,
        target="t_target",
        n_train=120,
        seed=4,
        sharing_mask=[True, True, False, False],
        widths=(16, 8, 8, 4),
        max_epochs=4,
        patience=4,
        batch_size=32,
        weighting=weighting,
        **kw,
    )
    out = tmp_path / weighting
    paths = (out / "model.keras", out / "history.csv", out / "metrics.json")
    result = train_run(prepared, spec, *paths, backend, device_rows=device_rows)
    return result, pd.read_csv(out / "history.csv"), out


def test_dwa_weights_in_history_follow_the_epoch_losses(tmp_path, tiny_prepared):
    result, history, _ = _run(tmp_path, tiny_prepared, "dwa", weighting_options={"temperature": 2.0})
    weights = history[[f"weight_{t}" for t in TASKS]].to_numpy()
    assert (weights[:2] == 1).all()
    for epoch in (2, 3):  # w = K softmax(r / T), r: the task's loss ratio of the last two epochs
        losses = history[[f"{t}_loss" for t in TASKS]].to_numpy()
        ratios = losses[epoch - 1] / losses[epoch - 2]
        expected = 3 * np.exp(ratios / 2) / np.exp(ratios / 2).sum()
        assert weights[epoch] == pytest.approx(expected, rel=1e-5)
    record = result["training"]["weighting"]
    assert record["name"] == "dwa" and record["options"] == {"temperature": 2.0}
    assert record["last_weights"] == pytest.approx(dict(zip(TASKS, weights[-1], strict=True)))


@pytest.mark.parametrize("device_rows", [False, True])
def test_rlw_weights_are_applied_and_recorded(tmp_path, tiny_prepared, device_rows):
    """On JAX's host batches and in its one compiled program per epoch (device rows)."""
    _, history, _ = _run(tmp_path, tiny_prepared, "rlw", device_rows=device_rows)
    weights = history[[f"weight_{t}" for t in TASKS]].to_numpy()
    for epoch, row in enumerate(weights):
        z = np.random.default_rng([4, epoch]).standard_normal(3)
        assert row == pytest.approx(np.exp(z) / np.exp(z).sum(), rel=1e-6)
    # the training loss is the weighted sum of the (unweighted) task losses
    losses = history[[f"{t}_loss" for t in TASKS]].to_numpy()
    assert history["loss"].to_numpy() == pytest.approx((weights * losses).sum(axis=1), rel=1e-4)


def test_uw_learns_its_log_variances_and_saves_a_plain_model(tmp_path, tiny_prepared):
    _, history, out = _run(tmp_path, tiny_prepared, "uw")
    weights = history[[f"weight_{t}" for t in TASKS]].to_numpy()
    assert (weights != 1).all() and len(set(map(tuple, weights))) == len(weights)  # learned each epoch
    # the loss is sum(exp(-s) L + s), s = -log(weight)
    losses = history[[f"{t}_loss" for t in TASKS]].to_numpy()
    assert (history["loss"] - (weights * losses - np.log(weights)).sum(axis=1)).abs().max() < 0.05
    saved = keras.saving.load_model(out / "model.keras")
    assert not any("log_variances" in v.path for v in saved.weights)
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["training"]["weighting"]["name"] == "uw"


def test_an_architecture_trains_with_a_loss_scaling_weighting(tmp_path, tiny_prepared):
    """``mmoe+dwa``: the soft-sharing network, its losses scaled by DWA's weights of each epoch."""
    mmoe = {"architecture": "mmoe", "architecture_options": {"experts": 2}}
    result, history, out = _run(tmp_path, tiny_prepared, "dwa", **mmoe)
    weights = history[[f"weight_{t}" for t in TASKS]].to_numpy()
    losses = history[[f"{t}_loss" for t in TASKS]].to_numpy()
    assert (weights[:2] == 1).all() and (weights[2:] != 1).any()
    assert history["loss"].to_numpy() == pytest.approx((weights * losses).sum(axis=1), rel=1e-4)
    assert result["run"]["architecture"]["name"] == "mmoe"
    assert result["training"]["weighting"]["name"] == "dwa"
    keras.saving.load_model(out / "model.keras")


def test_equal_weighting_records_nothing_new(tmp_path, tiny_prepared):
    result, history, _ = _run(tmp_path, tiny_prepared, "equal")
    assert "weighting" not in result["training"] and not any(c.startswith("weight_") for c in history)


@pytest.mark.parametrize("name", ["pcgrad", "gradnorm", "famo"])
def test_a_gradient_method_on_jax_stops_before_training(tmp_path, tiny_prepared, name):
    with pytest.raises(
        ValueError, match=rf"weighting '{name}' does not train on backend 'jax'; it trains on: torch"
    ):
        _run(tmp_path, tiny_prepared, name)


@pytest.mark.parametrize(("backend", "checks"), [("torch", 9), ("tensorflow", 1)])
def test_weightings_train_on_the_other_backends(tiny_prepared, backend, checks):
    """tests/weighting_checks.py: on PyTorch the update of a PCGrad/UPGrad step (from the tasks'
    Gramian, and UPGrad's from the Jacobian too) equals TorchJD's aggregation of the per-task
    gradients' Jacobian, the Gramian equals J J^T, a run whose weights go non-finite fails with
    NonFiniteLossError (IMTL-G, UPGrad, GradNorm), and those of 3 GradNorm and FAMO steps those of a
    GradNorm and a FAMO fed the same gradients and losses (FAMO: its private weights scaled too),
    and pcgrad, upgrad, uw, gradnorm and famo train (the last two: their epoch weights sum to K
    and 1 and move), and pcgrad on MMoE
    (its experts: the shared weights, found in the tasks' graphs); on TensorFlow uw, dwa and rlw
    train, the latter two with the loss their weighted sum."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "weighting_checks.py"), str(tiny_prepared), backend],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("ok ") == checks, proc.stdout
