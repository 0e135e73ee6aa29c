"""An imbalanced binary target: runs that collapse to the majority class, class weights and a decision
threshold chosen on validation (training.class_weight, training.threshold), on the JAX backend."""

from __future__ import annotations

import numpy as np
import pytest

from mtrl.evaluation import decision_thresholds
from mtrl.tasks import TaskSpec
from mtrl.train import RunSpec, train_run


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    """600 rows, a learnable binary target with 15% positives."""
    from mtrl.data.dataset import make_split
    from mtrl.data.prepared import write_prepared
    from mtrl.data.synthetic import generate

    dataset = generate(
        n_rows=600,
        n_features=300,
        n_topics=8,
        doc_length=60,
        tasks={"t": {"kind": "binary", "rho": 1.0, "positive_rate": 0.15, "noise": 0.1}},
        seed=4,
    )
    path = tmp_path_factory.mktemp("imbalanced") / "prepared.h5"
    write_prepared(path, dataset, make_split(dataset.n_rows, 0.2, 0.2, seed=0), {"source": "synthetic"})
    return path


@pytest.fixture(scope="module")
def plain(tmp_path_factory, imbalanced) -> dict:
    """The run with the default settings (no class weights, threshold 0.5)."""
    return _train(tmp_path_factory.mktemp("plain"), imbalanced)


def _train(tmp_path, prepared, **settings) -> dict:
    spec = RunSpec(
        tasks=["t"],
        target="t",
        n_train=200,
        seed=1,
        sharing_mask=[False] * 4,
        widths=(16, 8, 8, 4),
        learning_rate=0.01,
        batch_size=32,
        max_epochs=15,
        patience=15,
        **settings,
    )
    out = tmp_path / ("-".join(settings.values()) or "default")
    return train_run(prepared, spec, out / "m.keras", out / "h.csv", out / "metrics.json", "jax")


def test_balanced_weights_move_a_collapsed_target_off_the_majority_class(tmp_path, imbalanced, plain):
    plain = plain["metrics"]["test"]["t"]
    # it ranks the examples well, yet predicts the majority class for every one of them
    assert plain["kind"] == "binary" and plain["threshold"] == 0.5
    assert plain["predicted_classes"] == 1
    assert plain["model"]["balanced_accuracy"] == 0.5
    assert plain["model"]["error"] == plain["baseline"]["error"]
    assert plain["model"]["roc_auc"] > 0.7
    balanced = _train(tmp_path, imbalanced, class_weight="balanced")["metrics"]["test"]["t"]
    assert balanced["predicted_classes"] == 2
    assert balanced["model"]["balanced_accuracy"] > 0.55


def test_a_threshold_chosen_on_validation_applies_to_the_test_split(tmp_path, imbalanced, plain):
    doc = _train(tmp_path, imbalanced, threshold="validation")
    val, test = doc["metrics"]["val"]["t"], doc["metrics"]["test"]["t"]
    assert val["threshold"] == 0.5 and val["predicted_classes"] == 1  # the validation split keeps 0.5
    assert 0 < test["threshold"] < 0.5 and test["predicted_classes"] == 2
    assert test["model"]["balanced_accuracy"] > 0.55
    fixed = plain["metrics"]["test"]["t"]["model"]
    assert test["model"]["roc_auc"] == fixed["roc_auc"]  # the same predictions, another decision


def test_decision_thresholds_are_chosen_for_binary_tasks_on_the_test_split():
    tasks = [TaskSpec("b", "binary"), TaskSpec("r", "regression")]
    labels = {"b": np.array([0.0, 0.0, 1.0, 1.0]), "r": np.array([1.0, 2.0, 3.0, 4.0])}
    outputs = {"b": np.array([[0.1], [0.2], [0.3], [0.4]]), "r": np.zeros((4, 1))}
    assert decision_thresholds(tasks, labels, outputs, "fixed") == {}
    assert decision_thresholds(tasks, labels, outputs, "validation") == {"test": {"b": pytest.approx(0.25)}}
    with pytest.raises(ValueError, match=r"training\.threshold = 'best'"):
        decision_thresholds(tasks, labels, outputs, "best")
