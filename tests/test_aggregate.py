"""Tables over runs read from metrics.json documents and run histories."""

from __future__ import annotations

import pandas as pd
import pytest

from mtrl.aggregate import add_error_columns, histories_table, runs_table


def _doc(kind="multitask", seed=1, **run) -> dict:
    """A metrics.json document of one run of target ``t`` as training writes it."""
    identity = {"kind": kind, "coupling": "tight", "sharing": "low", "n_train": 100, "seed": seed}
    result = {"model": {"error": 0.3, "accuracy": 0.7}, "baseline": {"error": 0.5, "accuracy": 0.5}, "n": 50}
    return {
        "run": {**identity, "backend": "torch", "precision": "bfloat16", "device": "cpu", **run},
        "training": {"epochs_trained": 3, "training_seconds": 1.5},
        "metrics": {"test": {"t": result}},
    }


def test_runs_table_records_the_backend_precision_and_device_of_each_run(caplog):
    table = runs_table([_doc(), _doc(seed=2, backend="jax", precision="float32", device="gpu")], "t")
    assert set(zip(table["seed"], table["backend"], table["precision"], table["device"], strict=True)) == {
        (1, "torch", "bfloat16", "cpu"),
        (2, "jax", "float32", "gpu"),
    }
    assert (
        "the runs mix numerics (backend/precision/device: jax/float32/gpu, torch/bfloat16/cpu)" in caplog.text
    )


@pytest.mark.parametrize("key", ["precision", "device"])
def test_runs_table_invents_no_precision_or_device(key):
    doc = _doc()
    del doc["run"][key]
    with pytest.raises(KeyError, match=key):
        runs_table([doc], "t")


RAW_HISTORY = pd.DataFrame({
    "epoch": [1, 2],
    "loss": [0.9, 0.7],
    "t_accuracy": [0.6, 0.75],
    "val_t_accuracy": [0.55, 0.625],
    "val_r_rmse": [1.2, 1.1],
})  # fmt: skip


def test_histories_table_adds_error_columns_to_a_raw_history():
    table = histories_table([_doc()], [RAW_HISTORY])
    assert list(table.columns) == [
        "seed", "n_train", "sharing", "coupling", "kind",
        "epoch", "loss", "t_accuracy", "val_t_accuracy", "val_r_rmse", "t_error", "val_t_error",
    ]  # fmt: skip
    assert table["t_error"].to_numpy() == pytest.approx([0.4, 0.25])
    assert table["val_t_error"].to_numpy() == pytest.approx([0.45, 0.375])
    assert table["val_r_rmse"].to_numpy() == pytest.approx([1.2, 1.1])


def test_histories_with_error_columns_aggregate_as_before():
    # Runs written before training stopped adding the error columns: kept as they are, added once.
    written = add_error_columns(RAW_HISTORY).assign(val_t_error=[0.5, 0.5])
    assert add_error_columns(written).equals(written)
    table = histories_table([_doc(), _doc(seed=2)], [written, RAW_HISTORY])
    assert table["val_t_error"].to_numpy() == pytest.approx([0.5, 0.5, 0.45, 0.375])
    assert list(table.columns) == list(histories_table([_doc()], [RAW_HISTORY]).columns)


def test_runs_table_carries_the_task_kind_collapse_and_threshold():
    doc = _doc()
    doc["metrics"]["test"]["t"].update(kind="binary", predicted_classes=1, threshold=0.42)
    doc["metrics"]["test"]["r"] = {
        "model": {"rmse": 1.0},
        "baseline": {"rmse": 1.5},
        "n": 50,
        "kind": "regression",
    }
    table = runs_table([doc, _doc(seed=2)], "t")  # seed 2: written before these fields
    first = table[table["seed"] == 1].set_index(["task", "metric"])
    assert first.loc[("t", "error"), ["task_kind", "predicted_classes", "threshold"]].tolist() == [
        "binary",
        1,
        0.42,
    ]
    assert first.loc[("r", "rmse"), "task_kind"] == "regression"
    assert pd.isna(first.loc[("r", "rmse"), "predicted_classes"])
    assert str(table["predicted_classes"].dtype) == "Int64"
    old = table[table["seed"] == 2]
    assert old["task_kind"].isna().all() and old["predicted_classes"].isna().all()
    assert old["threshold"].isna().all()


def test_runs_table_averages_the_single_task_networks_of_a_seed():
    def single(seed, network, error, classes, seconds):
        doc = _doc(kind="single", seed=seed, **({"network": network} if network else {}))
        doc["metrics"]["test"]["t"]["model"] = {"error": error, "accuracy": 1 - error}
        doc["metrics"]["test"]["t"]["predicted_classes"] = classes
        doc["training"] = {"epochs_trained": 2 + network, "training_seconds": seconds}
        return doc

    docs = [_doc(), single(1, 0, 0.3, 1, 1.0), single(1, 1, 0.4, 2, 2.0), single(1, 2, 0.5, 1, 3.0)]
    docs.append(single(2, 0, 0.2, 1, 1.0))
    table = runs_table(docs, "t")
    error = table[(table["kind"] == "single") & (table["metric"] == "error")].set_index("seed")
    assert len(error) == 2 and "network" not in table
    assert error.loc[1, "value"] == pytest.approx(0.4) and error.loc[1, "networks"] == 3
    assert error.loc[1, "baseline"] == pytest.approx(0.5) and error.loc[1, "training_seconds"] == 6.0
    assert error.loc[1, "epochs_trained"] == pytest.approx(3.0)
    assert error.loc[1, "predicted_classes"] == 1  # one network collapsed: the baseline is flagged
    assert error.loc[2, "networks"] == 1 and error.loc[2, "predicted_classes"] == 1
    multi = table[table["kind"] == "multitask"]
    assert (multi["networks"] == 1).all() and len(multi) == 2
    # a study without networks: one row per run, as before, and a column of ones
    plain = runs_table([_doc(), single(1, 0, 0.3, 1, 1.0)], "t")
    assert len(plain) == 4 and (plain["networks"] == 1).all()


def test_runs_table_refuses_to_average_networks_of_different_numerics():
    docs = [_doc(kind="single"), _doc(kind="single", network=1, device="cuda")]
    with pytest.raises(
        ValueError, match=r"networks of 't', n_train 100, seed 1 trained with different numerics"
    ):
        runs_table(docs, "t")
