"""The JAX device-rows path (mtrl.backends.jax.device_rows) trains exactly as Keras's host-batch fit.

On a CPU the path is off by default (JaxBackend.uses_device_rows); the tests force it, so that the code a GPU
runs is checked here: same batches, same weights, same run outputs (bitwise on a CPU only).
"""

import io
import json

import jax
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from mtrl.data.batches import BatchSource, TaskTargets
from mtrl.train import RunSpec, train_run


def _data(n=300, d=60, seed=0):
    rng = np.random.default_rng(seed)
    features = sp.random(n, d, density=0.08, format="csr", random_state=seed, dtype=np.float32)
    features.data = rng.integers(1, 6, features.nnz).astype(np.float32)
    targets = {
        "b": TaskTargets(rng.integers(0, 2, (n, 1)).astype(np.float32), rng.random(n) > 0.3),
        "r": TaskTargets(rng.normal(size=(n, 1)).astype(np.float32), np.ones(n, bool)),
        "m": TaskTargets(rng.integers(0, 3, n).astype(np.int32), rng.random(n) > 0.5),
    }
    return features, targets


@pytest.mark.parametrize("weighted", [False, True])
def test_device_batches_equal_host_batches(weighted):
    import jax.numpy as jnp

    from mtrl.backends.host_batches import keras_dataset
    from mtrl.backends.jax.device_rows import DeviceRows, RowBatches
    from mtrl.data.class_weights import balanced_row_weights

    features, targets = _data()
    rows = np.arange(40, 290)  # a subset, so that positions and row ids differ
    sub = {k: TaskTargets(t.values[rows], t.mask[rows]) for k, t in targets.items()}
    if weighted:  # class weights (training.class_weight: balanced) on the classification targets
        for k in ("b", "m"):
            labels = np.where(sub[k].mask, sub[k].values.reshape(-1), np.nan)
            sub[k] = TaskTargets(sub[k].values, sub[k].mask, balanced_row_weights(labels))
    host = keras_dataset(BatchSource(features, rows, sub, 64), shuffle=True, seed=5)
    device = DeviceRows.of(features, rows, sub, "log1p")
    positions = RowBatches(len(rows), 64, shuffle=True, seed=5)
    assert len(positions) == len(host) == 4
    for _ in range(2):  # two epochs: the order is reshuffled alike
        for i in range(len(host)):
            x, y, w = host[i]
            dx, dy, dw = device.batch(jnp.asarray(positions[i]))
            np.testing.assert_array_equal(x, np.asarray(dx))
            for slug in y:
                np.testing.assert_array_equal(y[slug], np.asarray(dy[slug]))
                np.testing.assert_allclose(w[slug], np.asarray(dw[slug]), rtol=1e-6)
        host.on_epoch_end()
        positions.on_epoch_end()
    # shapes shared by the runs of one size: rows up to a multiple of 1024, widths a power of two
    assert len(device) == len(rows) and device.cols.shape == (1024, 32)
    assert device.targets["m"].shape == (1024,) and device.masks["b"][len(rows) :].sum() == 0


def _spec(**kw):
    base = dict(
        tasks=["t_target", "t_close", "t_reg"],
        target="t_target",
        n_train=200,
        seed=3,
        sharing_mask=[True, True, False, False],
        widths=(16, 8, 8, 4),
        dropout=(0.0, 0.0, 0.5, 0.5),
        max_epochs=4,
        patience=2,
        batch_size=32,
    )
    base.update(kw)
    return RunSpec(**base)


CPU_ONLY = pytest.mark.skipif(jax.default_backend() != "cpu", reason="bitwise equality holds on a CPU")


@CPU_ONLY
@pytest.mark.parametrize(
    ("monitor", "class_weight"), [("target", "none"), ("total", "none"), ("target", "balanced")]
)
def test_device_rows_run_equals_the_host_run(tmp_path, tiny_prepared, monitor, class_weight):
    """Whole runs (dropout, shuffling, padded last batch, validation, early stopping) agree.

    200 rows are 7 batches of 32, the last one padded; validation is one batch.
    """
    docs = {}
    for device_rows in (False, True):
        out = tmp_path / str(device_rows)
        train_run(
            tiny_prepared,
            _spec(monitor=monitor, class_weight=class_weight),
            out / "model.keras",
            out / "history.csv",
            out / "metrics.json",
            "jax",
            device_rows=device_rows,
        )
        docs[device_rows] = json.loads((out / "metrics.json").read_text())
        docs[device_rows]["history"] = (out / "history.csv").read_text()
    host, device = docs[False], docs[True]
    assert device["metrics"] == host["metrics"]
    # the epoch averages of the losses are summed in another order inside the compiled epoch:
    # equal to float32 rounding (the trained weights, hence the metrics, are bitwise the same)
    histories = [pd.read_csv(io.StringIO(doc["history"])) for doc in (host, device)]
    pd.testing.assert_frame_equal(*histories, check_exact=False, rtol=1e-6)
    assert device["training"]["epochs_trained"] == host["training"]["epochs_trained"] >= 2


def test_device_rows_is_jax_only(tmp_path, tiny_prepared):
    with pytest.raises(ValueError, match="JAX only"):
        train_run(
            tiny_prepared,
            _spec(),
            tmp_path / "m.keras",
            tmp_path / "h.csv",
            tmp_path / "x.json",
            "torch",
            True,
        )


@CPU_ONLY
def test_device_rows_are_off_on_a_cpu():
    from mtrl import backends

    assert not backends.get("jax").uses_device_rows() and not backends.get("torch").uses_device_rows()
    with pytest.raises(ValueError, match="device_rows trains on JAX only, not on backend 'torch'"):
        backends.get("torch").uses_device_rows(True)


def test_widths_round_up_to_powers_of_two():
    from mtrl.backends.jax.device_rows import shape_bucket

    assert [shape_bucket(n) for n in (1, 2, 3, 128, 129)] == [1, 2, 4, 128, 256]


def test_a_device_model_only_evaluates_inside_fit():
    """Row positions alone cannot say which rows they index: evaluate() outside fit refuses."""
    from mtrl.architectures.hard import HardSharing
    from mtrl.backends.jax.device_rows import DeviceRows, RowBatches, device_view
    from mtrl.model import build_model, compile_model
    from mtrl.tasks import TaskSpec

    features, targets = _data()
    tasks = [
        TaskSpec("b", "binary"),
        TaskSpec("r", "regression"),
        TaskSpec("m", "multiclass", classes=("x", "y", "z")),
    ]
    model = device_view(
        build_model(
            60, tasks, HardSharing((8, 4, 4, 4), (0, 0, 0, 0), sharing_mask=(True, False, False, False))
        )
    )
    compile_model(model, tasks, "adam", 1e-3)
    with pytest.raises(ValueError, match="bind"):
        model.fit(RowBatches(100, 32, True, 0), epochs=1, verbose=0)
    rows = np.arange(100)
    model.bind(
        DeviceRows.of(
            features,
            rows,
            {k: TaskTargets(t.values[rows], t.mask[rows]) for k, t in targets.items()},
            "log1p",
        )
    )
    model.steps_per_execution = 8  # more than the 4 batches: the scan runs the 4 there are
    history = model.fit(RowBatches(100, 32, True, 0), epochs=2, verbose=0)  # multiclass head too
    assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(NotImplementedError):
        model.evaluate(RowBatches(100, 32, False, 0), verbose=0)
    with pytest.raises(NotImplementedError):
        model.train_on_batch(np.zeros(32, np.int32))


@CPU_ONLY
def test_device_rows_run_with_a_multiclass_head_equals_the_host_run(tmp_path):
    """A genre-like multiclass target (int32 labels, SparseCategoricalAccuracy) with missing labels."""
    from mtrl.data.dataset import Dataset, make_split
    from mtrl.data.prepared import write_prepared
    from mtrl.tasks import TaskSpec

    features, _ = _data(n=400, d=80, seed=4)
    rng = np.random.default_rng(4)
    genre = rng.integers(0, 4, 400).astype(float)
    genre[rng.random(400) < 0.2] = np.nan
    dataset = Dataset(
        features=features,
        labels={"genre": genre, "loud": rng.normal(-8, 2, 400)},
        tasks=[TaskSpec("genre", "multiclass", classes=("a", "b", "c", "d")), TaskSpec("loud", "regression")],
        ids=np.array([f"s{i}" for i in range(400)], dtype=object),
    )
    prepared = tmp_path / "prepared.h5"
    write_prepared(prepared, dataset, make_split(400, 0.2, 0.2, seed=0), {"source": "test"})
    spec = _spec(tasks=["genre", "loud"], target="genre", n_train=150)
    docs = {}
    for device_rows in (False, True):
        out = tmp_path / str(device_rows)
        paths = (out / "model.keras", out / "history.csv", out / "metrics.json")
        docs[device_rows] = train_run(prepared, spec, *paths, "jax", device_rows=device_rows)
        docs[device_rows]["history"] = pd.read_csv(paths[1])
    assert docs[True]["metrics"] == docs[False]["metrics"]
    # the logged epoch losses may differ in the last float32 bit (XLA sums them in another order)
    pd.testing.assert_frame_equal(docs[True]["history"], docs[False]["history"], rtol=1e-6)
    assert "val_genre_accuracy" in docs[True]["history"]


def test_one_compiled_program_serves_runs_of_one_size():
    """Row counts that round to the same size give the same compiled shapes (no n_rows in them)."""
    from mtrl.backends.jax.device_rows import DeviceRows

    features, targets = _data(n=300)
    a = DeviceRows.of(
        features,
        np.arange(200),
        {k: TaskTargets(t.values[:200], t.mask[:200]) for k, t in targets.items()},
        "log1p",
    )
    b = DeviceRows.of(
        features,
        np.arange(250),
        {k: TaskTargets(t.values[:250], t.mask[:250]) for k, t in targets.items()},
        "log1p",
    )
    assert (len(a), len(b)) == (200, 250)
    shapes = [jax.tree.map(lambda v: (np.shape(v), str(jax.numpy.asarray(v).dtype)), r) for r in (a, b)]
    assert jax.tree.structure(shapes[0]) == jax.tree.structure(shapes[1])
    assert jax.tree.leaves(shapes[0]) == jax.tree.leaves(shapes[1])
