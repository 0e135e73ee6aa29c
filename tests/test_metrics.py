import numpy as np
import pytest
from sklearn import metrics as skm

from mtrl.metrics import baseline_metrics, classification_metrics, regression_metrics, task_metrics
from mtrl.tasks import TaskSpec

rng = np.random.default_rng(0)


def test_binary_metrics_match_scikit_learn():
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1)
    proba = np.stack([1 - p, p], axis=1)
    got = classification_metrics(y, proba)
    pred = (p > 0.5).astype(int)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["error"] == pytest.approx(1 - skm.accuracy_score(y, pred))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-6)


def test_multiclass_metrics_match_scikit_learn():
    y = rng.integers(0, 4, 400)
    logits = rng.normal(size=(400, 4)) + 1.5 * np.eye(4)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = classification_metrics(y, proba)
    pred = proba.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, proba), rel=1e-6)


def test_regression_metrics_match_scikit_learn():
    y = rng.normal(size=300) * 4 + 10
    pred = y + rng.normal(size=300)
    got = regression_metrics(y, pred)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_missing_labels_are_left_out():
    task = TaskSpec("r", "regression")
    y = np.array([1.0, np.nan, 3.0])
    got = task_metrics(task, y, np.array([[1.0], [100.0], [3.0]]))
    assert got["rmse"] == 0.0


def test_majority_baseline_error_is_the_minority_rate():
    task = TaskSpec("b", "binary")
    y_train = np.array([1, 1, 1, 0], dtype=float)
    y_eval = np.array([1, 0, 1, 1, 0, 1, 1, 1, 1, 1], dtype=float)
    got = baseline_metrics(task, y_train, y_eval)
    assert got["error"] == pytest.approx(0.2)  # predicts 1 everywhere
    assert got["roc_auc"] == pytest.approx(0.5)
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_eval, np.full(10, 0.75)), rel=1e-6)


def test_mean_baseline_has_zero_r2_on_the_training_mean():
    task = TaskSpec("r", "regression")
    y = np.array([1.0, 2.0, 3.0, 4.0])
    got = baseline_metrics(task, y, y)
    assert got["r2"] == pytest.approx(0.0)
    assert got["rmse"] == pytest.approx(np.std(y))


def test_multiclass_f1_averages_over_classes_that_occur():
    y = np.array([0, 0, 1, 1])
    proba = np.eye(3)[y] * 0.9 + 0.05
    got = classification_metrics(y, proba)
    assert got["f1"] == pytest.approx(skm.f1_score(y, proba.argmax(axis=1), average="macro")) == 1.0


def test_auc_with_ties_matches_scikit_learn():
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    p = np.array([0.5, 0.5, 0.2, 0.9, 0.5, 0.2, 0.9, 0.1])
    got = classification_metrics(y, np.stack([1 - p, p], axis=1))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
