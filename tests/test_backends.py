"""Every backend and precision trains the same run; the PyTorch path's pieces match Keras's.

Keras fixes its backend once per process, so each case runs in a subprocess.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

RUN = r"""
import sys
from mtrl.runtime import configure
backend, precision, data, out = sys.argv[1:5]
configure(backend, threads=1)
from mtrl.train import RunSpec, train_run
spec = RunSpec(tasks=["t_target", "t_close", "t_reg"], target="t_target", n_train=80, seed=1,
               sharing_mask=[True, True, False, False], widths=(16, 8, 8, 4), max_epochs=4, patience=2,
               batch_size=32, precision=precision)
# the study resolved another device class (a node of another kind): trained all the same, with a warning
study = {"backend": backend, "precision": precision, "device": "tpu"}
train_run(data, spec, f"{out}/model.keras", f"{out}/history.csv", f"{out}/metrics.json", backend,
          study_numerics=study if precision != "auto" else None)
"""


def _train(tmp_path, prepared, backend, precision):
    out = tmp_path / f"{backend}-{precision}"
    proc = subprocess.run(
        [sys.executable, "-c", RUN, backend, precision, str(prepared), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    warned = "this run trains on device 'cpu', the study resolved 'tpu'" in proc.stderr
    assert warned == (precision != "auto"), proc.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text()), out


@pytest.mark.parametrize(
    ("backend", "precision", "resolved"),
    [("tensorflow", "auto", "float32"), ("torch", "float32", "float32"), ("torch", "bfloat16", "bfloat16")],
)
def test_backend_trains_a_run_whose_model_loads_anywhere(
    tmp_path, tiny_prepared, backend, precision, resolved
):
    import keras

    doc, out = _train(tmp_path, tiny_prepared, backend, precision)
    assert doc["run"]["backend"] == backend and doc["run"]["precision"] == resolved
    assert doc["run"]["device"] == "cpu"
    assert 1 <= doc["training"]["epochs_trained"] <= 4
    test = doc["metrics"]["test"]
    assert 0 <= test["t_target"]["model"]["error"] <= 0.5
    assert test["t_target"]["model"]["log_loss"] < 5
    # the saved model is a plain Keras model: it loads on another backend (jax here) without mtrl
    model = keras.saving.load_model(out / "model.keras")
    assert sorted(model.output_names) == ["t_close", "t_reg", "t_target"]
    assert type(model).__module__.startswith("keras.")
    pred = model.predict_on_batch(np.zeros((2, 300), dtype="float32"))
    assert np.isfinite(np.asarray(pred["t_reg"])).all()


@pytest.mark.parametrize(("script", "checks"), [("torch_checks.py", 7), ("sparse_checks.py", 3)])
def test_pytorch_checks_in_their_own_process(script, checks):
    """tests/torch_checks.py (fast forward, sparse first layers and batches, lean losses and
    metrics, dropout mask, FusedAdam) and tests/sparse_checks.py (sparse predictions equal dense
    ones; the first layer's kernel gradient from the non-zeros equals the dense product) on the
    PyTorch backend."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / script)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.count("ok ") == checks, proc.stdout


def test_registry_matches_the_schema_and_names_each_backend():
    from mtrl import backends
    from mtrl.schema import allowed_values, default_value

    assert set(backends.NAMES) == set(allowed_values("backend"))
    assert default_value("backend") in backends.NAMES
    for name in backends.NAMES:
        assert backends.backend_class(name).name == name
        assert backends.get(name) is backends.get(name)  # looked up once per process
    with pytest.raises(ValueError, match=r"unknown backend 'theano'; known backends: jax, tensorflow, torch"):
        backends.get("theano")


_INTERNALS = r"""
import sys
from mtrl.runtime import configure
configure("torch")
import keras
if sys.argv[1] == "moved":  # as if a Keras release had moved the module
    from keras.src.trainers import data_adapters
    del data_adapters.data_adapter_utils
    sys.modules["keras.src.trainers.data_adapters.data_adapter_utils"] = None
from mtrl.backends import keras_internals
for name in keras_internals.USES:
    assert getattr(keras_internals, name) is not None, name
print("ok")
"""


@pytest.mark.parametrize("case", ["installed", "moved"])
def test_keras_internals_are_all_there_or_fail_loudly(case):
    proc = subprocess.run([sys.executable, "-c", _INTERNALS, case], capture_output=True, text=True, cwd=REPO)
    if case == "installed":
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
    else:
        assert proc.returncode != 0
        assert "mtrl relies on Keras internals" in proc.stderr
        assert "keras==3.15.1" in proc.stderr and "keras_internals.py" in proc.stderr
