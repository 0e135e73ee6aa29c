import json

import numpy as np
import pandas as pd
import pytest

from mtrl.aggregate import add_error_columns
from mtrl.data.prepared import read_prepared
from mtrl.data.subsets import training_rows
from mtrl.train import NonFiniteLossError, RunSpec, train_run

SMALL = dict(widths=(16, 8, 8, 4), max_epochs=3, patience=1, batch_size=32)


def _spec(**kw):
    base = dict(
        tasks=["t_target", "t_close", "t_reg"],
        target="t_target",
        n_train=80,
        seed=1,
        sharing_mask=[True, True, False, False],
        **SMALL,
    )
    base.update(kw)
    return RunSpec(**base)


def _run(tmp_path, prepared, spec, name="run"):
    out = tmp_path / name
    return train_run(
        prepared, spec, out / "model.keras", out / "history.csv", out / "metrics.json", "jax"
    ), out


def test_run_writes_every_output_with_all_metrics(tmp_path, tiny_prepared):
    result, out = _run(tmp_path, tiny_prepared, _spec())
    assert (out / "model.keras").stat().st_size > 0
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == list(range(1, len(history) + 1))
    # raw: the losses and metrics of fit; the error columns are the aggregation's
    assert "val_t_target_accuracy" in history and "val_t_reg_rmse" in history
    assert not any(column.endswith("_error") for column in history)
    assert "val_t_target_error" in add_error_columns(history)
    doc = json.loads((out / "metrics.json").read_text())
    assert doc == json.loads(json.dumps(result))
    for split in ("val", "test"):
        target = doc["metrics"][split]["t_target"]
        assert set(target["model"]) == {"accuracy", "error", "balanced_accuracy", "roc_auc", "f1", "log_loss"}
        assert set(target["baseline"]) == set(target["model"])
        assert target["model"]["error"] == pytest.approx(1 - target["model"]["accuracy"])
        reg = doc["metrics"][split]["t_reg"]
        assert set(reg["model"]) == {"rmse", "mae", "r2"}
        assert reg["baseline"]["r2"] <= 0.05  # the training mean explains nothing
    assert 1 <= doc["training"]["epochs_trained"] <= 3
    assert doc["training"]["training_seconds"] > 0
    timing = doc["training"]
    phases = [timing[f"{p}_seconds"] for p in ("setup", "training", "evaluation", "saving")]
    assert all(v > 0 for v in phases)
    assert sum(phases) <= timing["total_seconds"] + 0.005  # disjoint parts of the run (rounded)
    assert doc["labelled"]["t_target"]["train"] == 80


def test_regression_metrics_are_in_original_units(tmp_path, tiny_prepared):
    result, _ = _run(tmp_path, tiny_prepared, _spec())
    # labels have sd 2 around 10: an RMSE in standard units would be near 1, in original units near 2
    assert result["metrics"]["test"]["t_reg"]["baseline"]["rmse"] == pytest.approx(2.0, rel=0.25)
    assert result["scaling"]["t_reg"]["mean"] == pytest.approx(10.0, abs=1.0)


def test_same_seed_gives_identical_metrics(tmp_path, tiny_prepared):
    a, _ = _run(tmp_path, tiny_prepared, _spec(), "a")
    b, _ = _run(tmp_path, tiny_prepared, _spec(), "b")
    c, _ = _run(tmp_path, tiny_prepared, _spec(seed=2), "c")
    assert a["metrics"] == b["metrics"]
    assert a["metrics"] != c["metrics"]


def test_training_subsets_are_nested(tiny_prepared):
    data = read_prepared(tiny_prepared)
    small = training_rows(data, 50, "t_target", ["t_target"])
    large = training_rows(data, 150, "t_target", ["t_target"])
    assert np.array_equal(large[:50], small)
    assert len(np.intersect1d(large, data.rows("test"))) == 0


def test_too_large_training_size_is_named(tmp_path, tiny_prepared):
    with pytest.raises(ValueError, match="train size 5000 is larger than the 360"):
        _run(tmp_path, tiny_prepared, _spec(n_train=5000))


def test_nan_loss_stops_the_run_with_a_clear_error(tmp_path, tiny_prepared):
    with pytest.raises(NonFiniteLossError, match="loss became nan"):
        _run(tmp_path, tiny_prepared, _spec(learning_rate=1e30, feature_transform="counts", optimizer="sgd"))
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not (tmp_path / "run" / "model.keras").exists()


def test_single_task_run(tmp_path, tiny_prepared):
    result, _ = _run(
        tmp_path, tiny_prepared, _spec(tasks=["t_reg"], target="t_reg", sharing_mask=[False] * 4)
    )
    assert set(result["metrics"]["test"]) == {"t_reg"}
    assert result["training"]["parameters"] == 301 * 16 + 17 * 8 + 9 * 8 + 9 * 4 + 5


def test_a_run_whose_seed_draws_its_split_is_tested_on_that_split(tmp_path, tiny_prepared):
    import keras

    from mtrl.data.replicates import replicate_data
    from mtrl.evaluate import replicate_of
    from mtrl.evaluation import evaluate_model

    vary = ["init", "order", "subset", "split"]
    plain, _ = _run(tmp_path, tiny_prepared, _spec(), "plain")
    assert "vary" not in plain["run"]  # a seed that varies only init and order keeps metrics.json
    result, out = _run(tmp_path, tiny_prepared, _spec(vary=vary, split_by="t_target"), "drawn")
    assert result["run"]["vary"] == vary and result["run"]["split_by"] == "t_target"
    data = read_prepared(tiny_prepared)
    view = replicate_of(data, out / "metrics.json")
    assert np.array_equal(view.rows("test"), replicate_data(data, 1, vary, "t_target").rows("test"))
    assert not np.array_equal(view.rows("test"), data.rows("test"))
    tasks = [data.dataset.task(name) for name in ("t_target", "t_close", "t_reg")]
    model = keras.saving.load_model(out / "model.keras", compile=False)
    again = evaluate_model(model, view, tasks, "log1p", splits=["test"])["test"]
    for task in ("t_target", "t_reg"):
        assert again[task]["model"] == pytest.approx(result["metrics"]["test"][task]["model"], abs=1e-6)
    assert plain["metrics"]["test"]["t_target"]["model"] != result["metrics"]["test"]["t_target"]["model"]


def test_paired_init_gives_the_target_tower_its_partners_initial_weights():
    from mtrl.tasks import TaskSpec
    from mtrl.train import network_builder

    tasks = [TaskSpec("t_target", "binary"), TaskSpec("t_close", "binary")]

    def first_kernel(spec, tasks, name):
        model = network_builder(spec, tasks, 30)()
        return model.get_layer(name).kernel.numpy()

    multi = _spec(tasks=["t_target", "t_close"], paired_init=True)
    single = _spec(tasks=["t_target"], sharing_mask=[False] * 4, paired_init=True)
    paired = first_kernel(multi, tasks, "shared_1")
    assert np.array_equal(paired, first_kernel(single, tasks[:1], "hidden_1"))
    assert not np.array_equal(paired, first_kernel(_spec(tasks=["t_target", "t_close"]), tasks, "shared_1"))
