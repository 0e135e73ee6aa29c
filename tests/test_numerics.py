"""The study's numerics, resolved once: numerics.json, its checks and the warnings of a job."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

from mtrl.numerics import in_study_precision, job_warnings, read_numerics
from mtrl.precision import cpu_has_bfloat16

STUDY = {"backend": "torch", "precision": "bfloat16", "device": "cpu"}


def test_read_numerics_checks_what_training_needs(tmp_path):
    path = tmp_path / "numerics.json"
    path.write_text(json.dumps({**STUDY, "setting": "auto", "decided_by": "measured"}))
    assert read_numerics(path)["precision"] == "bfloat16"
    path.write_text(json.dumps({"backend": "torch", "precision": "bfloat16"}))
    with pytest.raises(ValueError, match=r"numerics.json: 'device' is missing or not a name \(got None\)"):
        read_numerics(path)
    path.write_text(json.dumps({**STUDY, "precision": "auto"}))
    with pytest.raises(ValueError, match=r"precision 'auto' is not float32 or bfloat16; delete the file"):
        read_numerics(path)
    path.write_text('{"backend": ')
    with pytest.raises(ValueError, match=r"cannot read the study's numerics '.*numerics.json'"):
        read_numerics(path)
    with pytest.raises(ValueError, match="cannot read the study's numerics"):
        read_numerics(tmp_path / "absent.json")


def test_a_run_trains_in_the_study_precision_not_the_config_setting():
    spec = {"tasks": ["t"], "precision": "auto", "seed": 1}
    assert in_study_precision(spec, STUDY) == {"tasks": ["t"], "precision": "bfloat16", "seed": 1}
    assert spec["precision"] == "auto"  # a copy


def test_a_job_warns_where_its_node_differs_from_the_study():
    assert job_warnings(STUDY, "torch", "bfloat16", "cpu", None) == []
    [other_device] = job_warnings(STUDY, "torch", "bfloat16", "cuda", None)
    assert "trains on device 'cuda', the study resolved 'cpu'" in other_device
    assert "pairs with runs on the study's device are refused" in other_device
    [slow] = job_warnings(STUDY, "torch", "bfloat16", "cpu", "this CPU has no native bfloat16")
    assert slow == "precision bfloat16 as the study resolved: this CPU has no native bfloat16"
    [odd] = job_warnings(STUDY, "torch", "float32", "cpu", None)
    assert "this run trains as torch/float32, the study resolved torch/bfloat16" in odd


RESOLVE = r"""
import json, sys
from mtrl.resolve_numerics import resolve_numerics
shape = {"input_dim": 200, "widths": [32, 16, 8, 4], "dropout": [0, 0, 0.5, 0.5], "batch_size": 32}
out = sys.argv[1]
first = resolve_numerics("torch", "auto", shape, f"{out}/first.json", threads=1)
again = resolve_numerics("torch", "auto", shape, f"{out}/again.json", threads=1)
fixed = resolve_numerics("torch", "float32", shape, f"{out}/fixed.json", threads=1)
"""


def test_resolve_numerics_measures_once_then_reads_the_cache(tmp_path):
    """The real calibration (PyTorch, tiny shapes) in its own process, and its cache."""
    proc = subprocess.run(
        [sys.executable, "-c", RESOLVE, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, again, fixed = (read_numerics(tmp_path / f"{name}.json") for name in ("first", "again", "fixed"))
    assert first["backend"] == "torch" and first["device"] == "cpu" and first["setting"] == "auto"
    assert first["host"]["threads"] == 1 and first["host"]["cpu"]
    assert fixed["precision"] == "float32" and fixed["decided_by"] == "set in the config (precision: float32)"
    assert fixed["calibration"] is None
    if not cpu_has_bfloat16():
        assert first["precision"] == "float32" and "not measured" in first["decided_by"]
        return
    calibration = first["calibration"]
    assert not calibration["cached"] and "measured now" in first["decided_by"]
    assert [len(calibration["seconds"][p]) for p in ("float32", "bfloat16")] == [12, 12]
    assert all(t > 0 for p in ("float32", "bfloat16") for t in calibration["seconds"][p])
    assert calibration["key"]["network"]["widths"] == [32, 16, 8, 4] and calibration["key"]["threads"] == 1
    assert again["calibration"]["cached"] and again["precision"] == first["precision"]
    assert again["calibration"]["seconds"] == calibration["seconds"]
    assert len(list((tmp_path / ".cache" / "mtrl" / "precision").glob("*.json"))) == 1


TRAIN_AUTO = r"""
import json, sys
from mtrl.runtime import configure
configure("torch", threads=1)
from mtrl.train import RunSpec, train_run
data, out = sys.argv[1:3]
spec = RunSpec(tasks=["t_target", "t_close"], target="t_target", n_train=80, seed=3,
               sharing_mask=[True, True, False, False], widths=(16, 8, 8, 4), max_epochs=3, patience=2,
               batch_size=32, precision="auto")
for name in ("measured", "cached"):  # the first run calibrates (a few training steps), the second not
    run = f"{out}/{name}"
    train_run(data, spec, f"{run}/model.keras", f"{run}/history.csv", f"{run}/metrics.json", "torch")
"""


def test_a_run_of_precision_auto_trains_alike_whether_it_measured_or_read_the_cache(tmp_path, tiny_prepared):
    """The calibration trains with its own seed; the run is seeded after it."""
    proc = subprocess.run(
        [sys.executable, "-c", TRAIN_AUTO, str(tiny_prepared), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    measured, cached = (
        json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("measured", "cached")
    )
    assert measured["run"]["precision"] == cached["run"]["precision"]
    assert measured["metrics"] == cached["metrics"]
    if cpu_has_bfloat16():
        assert len(list((tmp_path / ".cache/mtrl/precision").glob("*.json"))) == 1
