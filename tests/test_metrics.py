import numpy as np
import pytest
from sklearn import metrics as skm

from mtrl.metric_names import METRIC_RANGES
from mtrl.metrics import (
    baseline_metrics,
    classification_metrics,
    predicted_classes,
    regression_metrics,
    task_metrics,
    validation_threshold,
)
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


# --- predicted classes and the decision threshold ------------------------------------------------------


def test_predicted_classes_count_the_distinct_predictions_of_labelled_rows():
    binary = TaskSpec("b", "binary")
    y = np.array([0.0, 1.0, 0.0, np.nan])
    assert predicted_classes(binary, y, np.array([[0.1], [0.4], [0.2], [0.9]])) == 1  # the 0.9 is unlabelled
    assert predicted_classes(binary, y, np.array([[0.1], [0.6], [0.2], [0.9]])) == 2
    assert predicted_classes(binary, y, np.array([[0.1], [0.4], [0.2], [0.9]]), threshold=0.3) == 2
    multi = TaskSpec("m", "multiclass", ("x", "y", "z"))
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    assert predicted_classes(multi, np.array([0.0, 2.0, 1.0]), proba) == 2
    assert predicted_classes(TaskSpec("r", "regression"), np.array([1.0]), np.array([[2.0]])) is None


def test_a_threshold_of_one_half_is_the_argmax():
    p = np.r_[rng.random(300), 0.5, 0.5 - 1e-17, 0.5 + 1e-16]
    y = rng.integers(0, 2, len(p))
    proba = np.stack([1 - p, p], axis=1)
    assert classification_metrics(y, proba, 0.5) == classification_metrics(y, proba)


def test_threshold_metrics_use_the_given_threshold():
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + 0.7 * rng.random(400), 0, 1)
    proba = np.stack([1 - p, p], axis=1)
    got = classification_metrics(y, proba, threshold=0.62)
    pred = (p > 0.62).astype(int)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y, pred))
    # ranking and scoring metrics do not depend on it
    assert got["roc_auc"] == classification_metrics(y, proba)["roc_auc"]
    assert got["log_loss"] == classification_metrics(y, proba)["log_loss"]
    with pytest.raises(ValueError, match="two classes"):
        classification_metrics(np.array([0, 1, 2]), np.eye(3), threshold=0.5)


def test_validation_threshold_maximises_balanced_accuracy():
    # every score below 0.5: at 0.5 all is class 0 (balanced accuracy 0.5); between 0.3 and 0.35 the
    # two positives are found and one negative lost: (2/2 + 3/4) / 2 = 0.875, the best
    y = np.array([0, 0, 0, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.25, 0.3, 0.35, 0.4])
    assert validation_threshold(y, score) == pytest.approx(0.275)
    best = max(skm.balanced_accuracy_score(y, score > t) for t in np.linspace(0, 1, 1001))
    assert skm.balanced_accuracy_score(y, score > validation_threshold(y, score)) == best == 0.875


def test_validation_threshold_keeps_one_half_unless_something_beats_it():
    y = np.array([0, 0, 1, 1])
    assert validation_threshold(y, np.array([0.1, 0.2, 0.7, 0.8])) == 0.5  # 0.5 already separates them
    assert validation_threshold(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3])) == 0.5  # one class only
    # labels missing (NaN) are left out: without them the classes separate at 0.35
    y = np.array([0.0, np.nan, 1.0, 1.0])
    assert validation_threshold(y, np.array([0.3, 0.9, 0.4, 0.45])) == pytest.approx(0.35)


@pytest.mark.parametrize("quality", ["perfect", "inverted", "noise"])
def test_every_metric_lies_in_its_registered_range(quality):
    # The summary's intervals stay in mtrl.metric_names.METRIC_RANGES: the metrics must too, at their
    # extremes (a perfect and an inverted predictor reach the bounds of [0, 1]) as well as in between.
    y = rng.integers(0, 2, 200)
    p = {"perfect": y * 1.0, "inverted": 1.0 - y, "noise": rng.random(200)}[quality]
    got = classification_metrics(y, np.stack([1 - p, p], axis=1))
    target = rng.normal(size=200)
    pred = {"perfect": target, "inverted": -3 * target, "noise": rng.normal(size=200)}[quality]
    got |= regression_metrics(target, pred)
    assert set(got) == set(METRIC_RANGES)
    for name, value in got.items():
        low, high = METRIC_RANGES[name]
        assert low <= value <= high, f"{name} = {value} outside [{low}, {high}]"
    if quality == "perfect":  # on the bounds
        assert (got["error"], got["roc_auc"], got["f1"], got["rmse"], got["r2"]) == (0.0, 1.0, 1.0, 0.0, 1.0)
    if quality == "inverted":
        assert (got["accuracy"], got["balanced_accuracy"], got["roc_auc"]) == (0.0, 0.0, 0.0)
