"""precision: auto by measurement: the decision from step times, and the cache of measurements."""

import json

import pytest

from mtrl.calibration import (
    NetworkShape,
    cache_file,
    calibrated_choice,
    calibration_key,
    decide_precision,
    read_cached,
)
from mtrl.config import load_config
from workflow import tiny


def test_bfloat16_only_where_clearly_faster():
    # AMD EPYC (make bench, high): bfloat16 4.88 s, float32 8.88 s an epoch
    assert decide_precision({"float32": [8.88, 9.0, 8.7], "bfloat16": [4.88, 5.0, 4.7]}) == "bfloat16"
    # Intel Xeon with AVX512-BF16, no AMX: bfloat16 12.2 s, float32 8.06 s
    assert decide_precision({"float32": [8.06], "bfloat16": [12.2]}) == "float32"
    # a tie, or less than the required gain, keeps float32's exact arithmetic
    assert decide_precision({"float32": [1.0, 1.0], "bfloat16": [0.95, 0.96]}) == "float32"
    assert decide_precision({"float32": [1.0], "bfloat16": [0.95]}, min_speedup=1.0) == "bfloat16"
    # medians: one slow step (a hiccup of the machine) does not decide
    assert decide_precision({"float32": [2.0, 2.0, 2.0], "bfloat16": [1.0, 1.0, 9.0]}) == "bfloat16"


def test_no_measured_step_is_an_error():
    with pytest.raises(ValueError, match="no measured bfloat16 training step"):
        decide_precision({"float32": [1.0], "bfloat16": []})


def _key(**versions):
    versions = versions or {"torch": "2.13.0", "keras": "3.15.1"}
    return calibration_key(NetworkShape(), threads=1) | {"versions": versions}


class Measure:
    def __init__(self, times):
        self.times, self.calls = times, 0

    def __call__(self):
        self.calls += 1
        return self.times


def test_cache_hit_miss_and_invalidation_by_version(tmp_path):
    measure = Measure({"float32": [0.08, 0.09], "bfloat16": [0.045, 0.05]})
    first = calibrated_choice(_key(), measure, tmp_path)
    assert measure.calls == 1 and first.precision == "bfloat16" and not first.calibration["cached"]
    assert "measured now" in first.reason and "bfloat16 is 1.79x as fast" in first.reason
    # the same CPU, threads, network and versions: the cached times, not measured again
    again = calibrated_choice(_key(), measure, tmp_path)
    assert measure.calls == 1 and again.precision == "bfloat16" and again.calibration["cached"]
    assert again.calibration["seconds"] == first.calibration["seconds"]
    assert "cached measurement of" in again.reason
    # another torch version (or keras, threads, network, CPU): measured again, cached beside
    upgraded = _key(torch="2.14.0", keras="3.15.1")
    assert read_cached(upgraded, tmp_path) is None
    calibrated_choice(upgraded, measure, tmp_path)
    assert measure.calls == 2 and len(list(tmp_path.glob("*.json"))) == 2
    assert read_cached(_key(keras="3.16.0", torch="2.13.0"), tmp_path) is None
    assert read_cached(_key() | {"threads": 2}, tmp_path) is None


def test_cache_file_is_json_written_atomically(tmp_path):
    calibrated_choice(_key(), Measure({"float32": [2.0], "bfloat16": [1.0]}), tmp_path)
    path = cache_file(_key(), tmp_path)
    doc = json.loads(path.read_text())
    assert doc["key"] == _key() and doc["seconds"] == {"float32": [2.0], "bfloat16": [1.0]}
    assert {"measured_at", "measure_seconds"} <= set(doc)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_corrupt_or_foreign_cache_file_is_measured_again(tmp_path, caplog):
    measure = Measure({"float32": [2.0], "bfloat16": [1.0]})
    path = cache_file(_key(), tmp_path)
    path.write_text('{"key": ')  # cut short
    assert calibrated_choice(_key(), measure, tmp_path).precision == "bfloat16"
    assert measure.calls == 1 and "unreadable" in caplog.text
    path.write_text(json.dumps({"key": _key(torch="1.0"), "seconds": {"float32": [1.0], "bfloat16": [9.0]}}))
    assert calibrated_choice(_key(), measure, tmp_path).precision == "bfloat16" and measure.calls == 2


def test_unwritable_cache_still_decides(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    choice = calibrated_choice(_key(), Measure({"float32": [1.0], "bfloat16": [2.0]}), blocker / "cache")
    assert choice.precision == "float32" and "cannot cache the precision calibration" in caplog.text


def test_network_shape_of_a_config():
    shape = NetworkShape.of_config(load_config(tiny()))
    assert shape == NetworkShape(200, widths=(32, 16, 8, 4), dropout=(0, 0, 0.5, 0.5), batch_size=32)
    assert shape.sharing_mask == (False, False, True, True)  # the `high` preset
    assert NetworkShape().as_dict()["widths"] == [1024, 512, 256, 128]
    msd = tiny()
    msd["data"]["source"] = "msd"
    assert NetworkShape.of_config(msd).input_dim == 5000  # the musiXmatch vocabulary
