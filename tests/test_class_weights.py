"""training.class_weight: balanced class weights and how the training batches carry them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.class_weight import compute_class_weight

from mtrl.data.batches import BatchSource, TaskTargets
from mtrl.data.class_weights import balanced_class_weights, balanced_row_weights, with_class_weights
from mtrl.tasks import TaskSpec


def test_balanced_weights_follow_the_formula_and_scikit_learn():
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, np.nan, 0, np.nan])  # 7 of class 0, 2 of class 1
    weights = balanced_class_weights(labels)
    assert weights == pytest.approx([9 / (2 * 7), 9 / (2 * 2)])
    present = labels[~np.isnan(labels)].astype(int)
    assert weights == pytest.approx(compute_class_weight("balanced", classes=np.array([0, 1]), y=present))
    # every class carries the same total weight, and the weights average 1 over the labelled rows
    rows = balanced_row_weights(labels)
    assert rows.dtype == np.float32
    assert rows[labels == 0].sum() == pytest.approx(rows[labels == 1].sum())
    assert rows[~np.isnan(labels)].mean() == pytest.approx(1.0)
    assert rows[np.isnan(labels)].tolist() == [0.0, 0.0]


def test_multiclass_weights_leave_absent_classes_out():
    labels = np.array([0.0, 2.0, 2.0, 2.0, 3.0, 3.0])  # class 1 absent: k = 3 present classes
    assert balanced_class_weights(labels) == pytest.approx([6 / 3, 0.0, 6 / 9, 6 / 6])
    present = np.array([0, 2, 3])
    expected = compute_class_weight("balanced", classes=present, y=labels.astype(int))
    assert balanced_class_weights(labels)[present] == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least one labelled"):
        balanced_class_weights(np.array([np.nan]))


def test_only_classification_tasks_get_weights():
    tasks = [TaskSpec("b", "binary"), TaskSpec("r", "regression")]
    labels = {"b": np.array([0.0, 0.0, 0.0, 1.0]), "r": np.array([1.0, 2.0, 3.0, 4.0])}
    targets = {t.slug: TaskTargets(np.zeros((4, 1), np.float32), np.ones(4, bool)) for t in tasks}
    assert with_class_weights(targets, tasks, labels, "none") == targets
    weighted = with_class_weights(targets, tasks, labels, "balanced")
    assert weighted["b"].weights == pytest.approx([4 / 6, 4 / 6, 4 / 6, 2.0])
    assert weighted["r"].weights is None and targets["b"].weights is None  # the input is not changed
    with pytest.raises(ValueError, match=r"training\.class_weight = 'equal'"):
        with_class_weights(targets, tasks, labels, "equal")


def test_batches_multiply_the_weights_into_the_label_mask():
    features = sp.csr_matrix(np.ones((6, 3), np.float32))
    mask = np.array([True, True, False, True, True, True])
    labels = np.array([0.0, 1.0, np.nan, 0.0, 0.0, 0.0])
    weights = balanced_row_weights(labels)
    plain = BatchSource(features, np.arange(6), {"t": TaskTargets(np.zeros((6, 1)), mask)}, 4)
    weighted = BatchSource(features, np.arange(6), {"t": TaskTargets(np.zeros((6, 1)), mask, weights)}, 4)
    for index in range(2):  # the second batch is padded with two rows of weight zero
        w_plain, w_weighted = plain.batch(index)[2]["t"], weighted.batch(index)[2]["t"]
        rows = np.arange(index * 4, min(index * 4 + 4, 6))
        expected = np.zeros(4, np.float32)
        expected[: len(rows)] = w_plain[: len(rows)] * weights[rows]
        np.testing.assert_allclose(w_weighted, expected, rtol=1e-6)
    # the mean over the labelled rows of a batch stays the normalisation: 4 rows, 3 labelled
    assert plain.batch(0)[2]["t"].tolist() == pytest.approx([4 / 3, 4 / 3, 0, 4 / 3])
    # weights of 1 give the unweighted batches bit for bit
    ones = BatchSource(features, np.arange(6), {"t": TaskTargets(np.zeros((6, 1)), mask, np.ones(6))}, 4)
    for index in range(2):
        np.testing.assert_array_equal(ones.batch(index)[2]["t"], plain.batch(index)[2]["t"])
