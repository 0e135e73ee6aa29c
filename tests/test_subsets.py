"""Training subsets with missing labels: nested, counted on the target, auxiliary rows optional."""

import numpy as np
import pytest

from mtrl.data.dataset import Dataset, make_split
from mtrl.data.prepared import read_prepared, write_prepared
from mtrl.data.subsets import target_mask_rows, training_rows
from mtrl.data.synthetic import generate
from mtrl.tasks import TaskSpec


@pytest.fixture(scope="module")
def sparse_labels(tmp_path_factory):
    """600 rows; the target is labelled on every third row only, the auxiliary task everywhere."""
    base = generate(
        n_rows=600,
        n_features=100,
        tasks={"t": {"kind": "binary", "rho": 1.0}, "a": {"kind": "regression", "rho": 0.9}},
        seed=0,
    )
    target = base.labels["t"].copy()
    target[np.arange(600) % 3 != 0] = np.nan
    data = Dataset(
        base.features,
        {"t": target, "a": base.labels["a"]},
        [TaskSpec("t", "binary"), TaskSpec("a", "regression")],
        base.ids,
    )
    split = make_split(600, 0.2, 0.2, seed=1, stratify=target)
    path = tmp_path_factory.mktemp("sparse") / "prepared.h5"
    write_prepared(path, data, split, {"source": "test"})
    return read_prepared(path)


def test_validation_and_test_hold_only_target_labelled_rows(sparse_labels):
    for split in ("val", "test"):
        assert not np.isnan(sparse_labels.labels("t", sparse_labels.rows(split))).any()
    assert len(sparse_labels.rows("val")) == 40  # 20% of the 200 labelled rows


def test_n_train_counts_target_labels_and_subsets_are_nested(sparse_labels):
    small = training_rows(sparse_labels, 30, "t", ["t", "a"])
    large = training_rows(sparse_labels, 90, "t", ["t", "a"])
    assert len(small) == 30 and not np.isnan(sparse_labels.labels("t", small)).any()
    assert np.array_equal(large[:30], small)


def test_auxiliary_tasks_may_use_all_their_labelled_rows(sparse_labels):
    rows = training_rows(sparse_labels, 30, "t", ["t", "a"], auxiliary_use_all_labels=True)
    train = sparse_labels.rows("train")
    assert len(rows) == len(train)  # every training row carries the auxiliary label
    keep = target_mask_rows(sparse_labels, rows, 30, "t")
    assert keep.sum() == 30  # the target still learns from exactly n_train labels
    assert np.array_equal(np.sort(rows[keep]), np.sort(training_rows(sparse_labels, 30, "t", ["t"])))


def test_a_size_beyond_the_labelled_target_rows_is_named(sparse_labels):
    with pytest.raises(
        ValueError, match="larger than the 120 training examples that carry a label of target task 't'"
    ):
        training_rows(sparse_labels, 500, "t", ["t", "a"])


def test_a_run_with_auxiliary_labels_keeps_the_target_count(sparse_labels, tmp_path):
    from mtrl.run_inputs import prepare_run_inputs
    from mtrl.spec import RunSpec

    spec = RunSpec(tasks=["t", "a"], target="t", n_train=30, seed=1, sharing_mask=[True] * 4,
                   auxiliary_use_all_labels=True)  # fmt: skip
    inputs = prepare_run_inputs(sparse_labels, spec)
    assert inputs.n_labelled["t"]["train"] == 30
    assert inputs.n_labelled["a"]["train"] == len(sparse_labels.rows("train"))
    assert inputs.train_targets["t"].mask.sum() == 30
    # the target's trivial baseline is fitted on the same 30 labels, not on every labelled row
    assert np.count_nonzero(~np.isnan(inputs.train_labels["t"])) == 30
    plain = prepare_run_inputs(sparse_labels, RunSpec(**{**spec.__dict__, "auxiliary_use_all_labels": False}))
    assert plain.n_labelled["a"]["train"] == 30
