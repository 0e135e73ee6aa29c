"""Readers of the MSD HDF5 files: per-track files (``TR*.h5``) and ``msd_summary_file.h5``.

Both return a frame indexed by the MSD track id (``track_id``); the MSD's "year 0 = unknown"
becomes NaN.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from mtrl.data.msd_files import check_unique_index, existing_file, msd_years

# (HDF5 table, field, output column) of the per-track and summary files
SONG_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("analysis/songs", "loudness", "loudness"),
    ("analysis/songs", "tempo", "tempo"),
    ("analysis/songs", "key", "key"),
    ("analysis/songs", "mode", "mode"),
    ("analysis/songs", "time_signature", "time_signature"),
    ("analysis/songs", "duration", "duration"),
    ("musicbrainz/songs", "year", "year"),
    ("metadata/songs", "song_hotttnesss", "song_hotttnesss"),
    ("metadata/songs", "artist_hotttnesss", "artist_hotttnesss"),
    ("metadata/songs", "artist_familiarity", "artist_familiarity"),
    ("metadata/songs", "artist_id", "artist_id"),
)
SONG_COLUMNS: tuple[str, ...] = tuple(column for _, _, column in SONG_FIELDS)
TRACK_H5_COLUMNS: tuple[str, ...] = (*SONG_COLUMNS, "artist_terms", "artist_mbtags")


def _decode(values: np.ndarray) -> np.ndarray:
    """Fixed-width byte strings -> object array of str."""
    return np.char.decode(np.asarray(values, dtype=np.bytes_), "utf-8").astype(object)


def _read_table(f: h5py.File, path: Path, table: str, fields: Sequence[str]) -> np.ndarray:
    if table not in f:
        raise ValueError(f"{path}: no table /{table} (expected the official MSD HDF5 layout)")
    dset = f[table]
    names = dset.dtype.names or ()
    missing = [name for name in fields if name not in names]
    if missing:
        raise ValueError(f"{path}: table /{table} lacks the field(s) {', '.join(missing)}")
    return dset.fields(list(fields))[()]


def _song_columns(f: h5py.File, path: Path, extra: dict[str, Sequence[str]] | None = None) -> dict:
    """The SONG_FIELDS columns (plus ``extra`` raw fields per table) of one MSD HDF5 file."""
    tables: dict[str, list[str]] = {}
    for table, field, _ in SONG_FIELDS:
        tables.setdefault(table, []).append(field)
    tables["analysis/songs"].append("track_id")
    for table, fields in (extra or {}).items():
        tables[table].extend(fields)
    raw = {table: _read_table(f, path, table, fields) for table, fields in tables.items()}
    sizes = {table: len(rows) for table, rows in raw.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{path}: the song tables differ in length {sizes}")
    out = {"track_id": _decode(raw["analysis/songs"]["track_id"])}
    for table, field, column in SONG_FIELDS:
        values = raw[table][field]
        if column == "year":
            out[column] = msd_years(values)
        elif values.dtype.kind == "S":
            out[column] = _decode(values)
        else:
            out[column] = values.astype(np.float64 if values.dtype.kind == "f" else np.int64)
    for table, fields in (extra or {}).items():
        for field in fields:
            out[field] = raw[table][field]
    return out


def _terms_of_rows(f: h5py.File, path: Path, array: str, starts: np.ndarray) -> list[tuple[str, ...]]:
    """Split the concatenated term array ``array`` into one tuple per song (``starts`` = offsets)."""
    if array not in f:
        raise ValueError(f"{path}: no array /{array} (expected the official MSD HDF5 layout)")
    terms = [t.decode("utf-8") for t in f[array][()]]
    bounds = [*(int(s) for s in starts), len(terms)]
    if any(b < a for a, b in itertools.pairwise(bounds)) or bounds[0] < 0:
        raise ValueError(f"{path}: the offsets into /{array} are not increasing: {list(starts)}")
    return [tuple(terms[a:b]) for a, b in itertools.pairwise(bounds)]


def _frame(columns: dict, order: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: columns[c] for c in order}, index=pd.Index(columns["track_id"], name="track_id"))
    return frame


def _h5_files(paths_or_dir: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(paths_or_dir, str | os.PathLike):
        root = Path(paths_or_dir)
        if not root.exists():
            raise FileNotFoundError(f"{root}: MSD HDF5 track file or directory not found")
        if root.is_file():
            return [root]
        files = sorted(root.rglob("TR*.h5"))
        if not files:
            raise ValueError(f"{root}: no TR*.h5 track files below this directory")
        return files
    return [existing_file(p, "MSD HDF5 track file") for p in paths_or_dir]


def read_track_h5(paths_or_dir: str | os.PathLike | Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Song attributes and artist terms from per-track MSD HDF5 files (``TR*.h5``).

    ``paths_or_dir`` is a directory (searched recursively for ``TR*.h5``), one file or a list of
    files. Files holding several songs (the official aggregate layout) are split with the
    ``idx_artist_terms``/``idx_artist_mbtags`` offsets. Columns: :data:`TRACK_H5_COLUMNS`.
    """
    parts: dict[str, list] = {c: [] for c in ("track_id", *TRACK_H5_COLUMNS)}
    where: list[str] = []
    for path in _h5_files(paths_or_dir):
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise ValueError(f"{path}: cannot read as an HDF5 file ({exc})") from exc
        with f:
            cols = _song_columns(
                f, path, {"metadata/songs": ["idx_artist_terms"], "musicbrainz/songs": ["idx_artist_mbtags"]}
            )
            cols["artist_terms"] = _terms_of_rows(f, path, "metadata/artist_terms", cols["idx_artist_terms"])
            cols["artist_mbtags"] = _terms_of_rows(
                f, path, "musicbrainz/artist_mbtags", cols["idx_artist_mbtags"]
            )
        for column in parts:
            parts[column].extend(cols[column])
        where.extend(f"{path}" for _ in range(len(cols["track_id"])))
    frame = pd.DataFrame(
        {c: parts[c] for c in TRACK_H5_COLUMNS},
        index=pd.Index(parts["track_id"], dtype=object, name="track_id"),
    )
    for column in frame.columns:
        if column not in ("artist_id", "artist_terms", "artist_mbtags"):
            frame[column] = pd.to_numeric(frame[column])
    dup = frame.index.duplicated()
    if dup.any():
        second = int(np.flatnonzero(dup)[0])
        key = frame.index[second]
        first = int(np.flatnonzero(frame.index == key)[0])
        raise ValueError(f"duplicate track_id {key!r} in {where[first]} and {where[second]}")
    return frame


def read_summary_h5(path: str | os.PathLike) -> pd.DataFrame:
    """Song attributes of every track from ``msd_summary_file.h5``, read table-wise (vectorised).

    Columns: :data:`SONG_COLUMNS` (the summary file holds no artist-term arrays).
    """
    p = existing_file(path, "MSD summary HDF5 file")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ValueError(f"{p}: cannot read as an HDF5 file ({exc})") from exc
    with f:
        cols = _song_columns(f, p)
    frame = _frame(cols, SONG_COLUMNS)
    check_unique_index(frame, p)
    return frame
