"""The prepared-data file: a bad split or colliding task names stop before writing; a truncated or
corrupt file is named as such with what to do, never taken for a missing one."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mtrl.data.dataset import make_split
from mtrl.data.prepared import CorruptPreparedDataError, read_prepared, write_prepared
from mtrl.data.synthetic import generate
from mtrl.prepare import prepare_data

SYNTHETIC = {
    "n_rows": 60,
    "n_features": 20,
    "n_topics": 4,
    "doc_length": 10,
    "seed": 1,
    "tasks": {"t": {"kind": "binary", "rho": 1.0}, "a b": {"kind": "binary", "rho": 0.5}},
}
ADVICE = "delete it or run with `-R prepare_data`"


@pytest.mark.parametrize(("val", "test"), [(0.6, 0.6), (0.5, 0.5), (0.0, 0.2)])
def test_split_fractions_are_checked_where_the_split_is_made(val, test):
    with pytest.raises(
        ValueError, match=rf"split fractions val={val}, test={test}: each must be in \(0, 1\)"
    ):
        make_split(100, val, test, seed=0)


def test_prepare_data_stops_on_bad_fractions_before_writing(tmp_path):
    data = {
        "source": "synthetic",
        "synthetic": SYNTHETIC,
        "split": {"val_fraction": 0.6, "test_fraction": 0.6, "seed": 0},
    }
    with pytest.raises(ValueError, match=r"and their sum below 1"):
        prepare_data(data, ["t"], "t", [10], tmp_path / "prepared.h5")
    assert list(tmp_path.iterdir()) == []


def test_task_names_sharing_a_file_name_are_not_written(tmp_path):
    dataset = generate(
        **{**SYNTHETIC, "tasks": {**SYNTHETIC["tasks"], "a_b": {"kind": "binary", "rho": 0.2}}}
    )
    path = tmp_path / "prepared.h5"
    with pytest.raises(ValueError, match=r"^tasks 'a b' and 'a_b' share the file name 'a_b'"):
        write_prepared(path, dataset, make_split(dataset.n_rows, 0.2, 0.2, seed=0), {"source": "synthetic"})
    assert list(tmp_path.iterdir()) == []


def test_a_missing_file_is_missing(tmp_path):
    path = tmp_path / "prepared.h5"
    with pytest.raises(
        FileNotFoundError, match=rf"^{path}: prepared-data file not found; run the prepare_data"
    ):
        read_prepared(path)


def _truncated(source: Path, target: Path, keep: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def _zeroed_tail(source: Path, target: Path) -> Path:
    """The same length, the second half overwritten with zeros (a disk or copy fault)."""
    data = bytearray(source.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize(
    "damage",
    [
        lambda s, t: _truncated(s, t, 0.5),
        lambda s, t: _truncated(s, t, 0.99),
        lambda s, t: _truncated(s, t, 0.0),
        _zeroed_tail,
    ],
    ids=["half", "last-byte", "empty", "zeroed-tail"],
)
def test_a_damaged_file_is_called_corrupt_with_what_to_do(tiny_prepared, tmp_path, damage):
    path = damage(tiny_prepared, tmp_path / "prepared.h5")
    with pytest.raises(CorruptPreparedDataError) as err:
        read_prepared(path)
    text = str(err.value)
    assert text.startswith(f"{path}: corrupt prepared-data file (") and text.endswith(ADVICE)
    assert not isinstance(err.value, FileNotFoundError)


def test_an_intact_copy_reads_the_same(tiny_prepared, tmp_path):
    copy = shutil.copy(tiny_prepared, tmp_path / "prepared.h5")
    a, b = read_prepared(tiny_prepared), read_prepared(copy)
    assert (a.dataset.features != b.dataset.features).nnz == 0
    np.testing.assert_array_equal(a.split.train, b.split.train)
