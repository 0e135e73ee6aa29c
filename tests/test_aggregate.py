"""Tables over runs read from metrics.json documents."""

from __future__ import annotations

import pytest

from mtrl.aggregate import runs_table


def _doc(kind="multitask", seed=1, **run) -> dict:
    """A metrics.json document of one run of target ``t`` as training writes it."""
    identity = {"kind": kind, "coupling": "tight", "sharing": "low", "n_train": 100, "seed": seed}
    result = {"model": {"error": 0.3, "accuracy": 0.7}, "baseline": {"error": 0.5, "accuracy": 0.5}, "n": 50}
    return {
        "run": {**identity, "backend": "torch", "precision": "bfloat16", **run},
        "training": {"epochs_trained": 3, "training_seconds": 1.5},
        "metrics": {"test": {"t": result}},
    }


def test_runs_table_records_the_backend_and_precision_of_each_run():
    table = runs_table([_doc(), _doc(seed=2, backend="jax", precision="float32")], "t")
    assert set(zip(table["seed"], table["backend"], table["precision"], strict=True)) == {
        (1, "torch", "bfloat16"),
        (2, "jax", "float32"),
    }


def test_runs_table_invents_no_precision():
    doc = _doc()
    del doc["run"]["precision"]
    with pytest.raises(KeyError, match="precision"):
        runs_table([doc], "t")
