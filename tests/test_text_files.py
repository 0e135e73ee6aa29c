"""Every text reader loads a file the same with and without a UTF-8 byte-order mark, and calls a
binary file binary (naming it)."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from mtrl.data.msd import load_msd
from mtrl.data.msd_text import read_label_table, read_tagtraum, read_year_by_mxm
from mtrl.data.mxm import MxmFormatError, MxmLyrics, read_mxm
from mtrl.data.text_files import binary_message, strip_bom

BOM = b"\xef\xbb\xbf"

LYRICS = b"# a comment\n%i,the,you\nTRA,11,1:2,3:1\nTRB,,2:5\n"
TAGTRAUM = b"TRA\tPop_Rock\nTRB\tJazz\tVocal\n"
YEARS = b"11\t1999\n12\t2004\n"
CSV = b"track_id,mood,energy\nTRA,happy,0.5\nTRB,sad,\n"
TSV = b"track_id\tmood\nTRA\thappy\nTRB\tsad\n"

#: reader -> (file name, content, what its binary message says the file should be)
READERS: dict[str, tuple[Callable[[Path], object], str, bytes, str]] = {
    "lyrics": (read_mxm, "mxm.txt", LYRICS, "musiXmatch lyrics"),
    "tagtraum": (read_tagtraum, "genres.cls", TAGTRAUM, "tagtraum genre file"),
    "year": (read_year_by_mxm, "years.txt", YEARS, "musiXmatch year file"),
    "csv": (lambda p: read_label_table(p, "track_id"), "labels.csv", CSV, "label table"),
    "tsv": (lambda p: read_label_table(p, "track_id"), "labels.tsv", TSV, "label table"),
}


def assert_same(a: object, b: object) -> None:
    """Frames or lyrics equal in values, dtypes and index."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return
    assert isinstance(a, MxmLyrics) and isinstance(b, MxmLyrics)
    assert list(a.track_ids) == list(b.track_ids) and list(a.mxm_ids) == list(b.mxm_ids)
    assert a.vocabulary == b.vocabulary
    assert (a.counts != b.counts).nnz == 0 and a.counts.shape == b.counts.shape


@pytest.mark.parametrize("reader", list(READERS))
def test_a_byte_order_mark_changes_nothing(tmp_path: Path, reader: str) -> None:
    read, name, content, _ = READERS[reader]
    plain, marked = tmp_path / name, tmp_path / f"bom-{name}"
    plain.write_bytes(content)
    marked.write_bytes(BOM + content)
    expected = read(plain)
    assert_same(read(marked), expected)
    first = expected.index[0] if isinstance(expected, pd.DataFrame) else expected.track_ids[0]
    assert first in ("TRA", "11")  # the first line's record is kept


def test_a_byte_order_mark_before_the_vocabulary_line(tmp_path: Path) -> None:
    path = tmp_path / "mxm.txt"
    path.write_bytes(BOM + b"%i,the,you\nTRA,11,1:2\n")
    assert read_mxm(path).vocabulary == ["i", "the", "you"]


def test_only_a_leading_byte_order_mark_is_dropped() -> None:
    assert strip_bom(BOM + b"a" + BOM) == b"a" + BOM
    assert strip_bom(b"a") == b"a"


def _gzip(path: Path, content: bytes) -> None:
    path.write_bytes(gzip.compress(content))


def _hdf5(path: Path, content: bytes) -> None:
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def _nul(path: Path, content: bytes) -> None:
    path.write_bytes(content[:10] + b"\x00\x01\x02" + content[10:])


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize(
    ("write", "kind"),
    [(_gzip, "gzip-compressed"), (_hdf5, "HDF5"), (_nul, "it holds NUL bytes")],
)
def test_a_binary_file_is_called_binary(tmp_path: Path, reader: str, write, kind: str) -> None:
    read, name, content, what = READERS[reader]
    path = tmp_path / name
    write(path, content)
    with pytest.raises(ValueError) as err:
        read(path)
    assert str(err.value) == f"{path}: a binary file ({kind}), not {what} text; " + (
        "unpack it first" if kind == "gzip-compressed" else "check the path"
    )
    if reader == "lyrics":
        assert isinstance(err.value, MxmFormatError)


def test_utf16_text_is_told_to_be_saved_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "genres.cls"
    path.write_bytes(TAGTRAUM.decode().encode("utf-16"))
    message = r"genres\.cls: UTF-16 text, not UTF-8 tagtraum genre file text; save it as UTF-8"
    with pytest.raises(ValueError, match=message):
        read_tagtraum(path)


@pytest.mark.parametrize(
    "head", [b"", b"# text\n", "é, ü, qué\n".encode(), BOM + b"%a,b\n", b"BZh no bzip2 header"]
)
def test_text_is_not_binary(head: bytes) -> None:
    assert binary_message(head, "x") is None


# --- the real sample, BOM-prefixed -----------------------------------------------------------------


def _marked_copy(source: Path, folder: Path) -> Path:
    target = folder / source.name
    target.write_bytes(BOM + source.read_bytes())
    return target


def _msd_config(folder: Path, h5: Path) -> dict:
    return {
        "lyrics": [str(folder / "mxm_dataset_train.txt"), str(folder / "mxm_dataset_test.txt")],
        "track_h5": str(h5),
        "tagtraum": str(folder / "msd_tagtraum_cd1.cls"),
        "year_by_mxm": str(folder / "MSD_track_id_and_year.txt"),
        "tasks": ["year", "genre", "genre:Pop_Rock", "loudness"],
    }


def test_real_sample_files_with_a_byte_order_mark(msd_sample: Path, tmp_path: Path) -> None:
    lyrics = ("mxm_dataset_train.txt", "mxm_dataset_test.txt")
    for name in (*lyrics, "msd_tagtraum_cd1.cls", "MSD_track_id_and_year.txt"):
        _marked_copy(msd_sample / name, tmp_path)
    genres = read_tagtraum(tmp_path / "msd_tagtraum_cd1.cls")
    assert len(genres) == 2149  # PROVENANCE.md: no track lost
    pd.testing.assert_frame_equal(genres, read_tagtraum(msd_sample / "msd_tagtraum_cd1.cls"))
    pd.testing.assert_frame_equal(
        read_year_by_mxm(tmp_path / "MSD_track_id_and_year.txt"),
        read_year_by_mxm(msd_sample / "MSD_track_id_and_year.txt"),
    )
    expected = load_msd(_msd_config(msd_sample, msd_sample / "h5"))
    marked = load_msd(_msd_config(tmp_path, msd_sample / "h5"))
    assert list(marked.ids) == list(expected.ids) and marked.vocabulary == expected.vocabulary
    assert (marked.features != expected.features).nnz == 0
    for task in expected.tasks:
        np.testing.assert_array_equal(marked.labels[task.name], expected.labels[task.name])
    assert int(np.count_nonzero(~np.isnan(marked.labels["genre"][94:]))) == 2110  # PROVENANCE.md


def test_real_lyrics_gzipped_are_called_binary(msd_sample: Path, tmp_path: Path) -> None:
    path = tmp_path / "mxm_dataset_train.txt"
    with open(msd_sample / "mxm_dataset_train.txt", "rb") as source, gzip.open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    with pytest.raises(MxmFormatError, match=r"mxm_dataset_train\.txt: a binary file \(gzip-compressed\)"):
        read_mxm(path)
