"""Readers of the Million Song Dataset's label files (official formats), as pandas DataFrames.

Every reader returns a frame indexed by the MSD track id (index name ``track_id``), except
:func:`read_year_by_mxm` (indexed by the musiXmatch id, ``mxm_tid``) and :func:`read_artist_terms`
(indexed by ``artist_id``). Missing values are NaN/None; the MSD's "year 0 = unknown" becomes NaN.
A missing file raises FileNotFoundError, an unreadable or malformed one ValueError naming the file
and the line (or SQLite rowid), and a repeated id ValueError naming the id.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

import h5py
import numpy as np
import pandas as pd

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
TRACK_METADATA_COLUMNS: tuple[str, ...] = (
    "title", "song_id", "release", "artist_id", "artist_mbid", "artist_name",
    "duration", "artist_familiarity", "artist_hotttnesss", "year",
)  # fmt: skip
MISSING_CELLS: tuple[str, ...] = ("", "nan", "na", "n/a", "null", "none")
_NUMERIC_DB_COLUMNS = ("duration", "artist_familiarity", "artist_hotttnesss", "year")


# --- shared helpers ---------------------------------------------------------------------------


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: {what} not found")
    if not p.is_file():
        raise ValueError(f"{p}: {what} is not a regular file")
    return p


def _check_unique_index(frame: pd.DataFrame, path: Path, where: Sequence | None = None) -> None:
    """Raise naming the first repeated id (and, given ``where``, the lines of both occurrences)."""
    dup = frame.index.duplicated()
    if not dup.any():
        return
    second = int(np.flatnonzero(dup)[0])
    key = frame.index[second]
    first = int(np.flatnonzero(frame.index == key)[0])
    at = f" (line {where[first]} and line {where[second]})" if where is not None else ""
    raise ValueError(f"{path}: duplicate {frame.index.name} {key!r}{at}")


def _read_text(path: Path, what: str) -> str:
    """The whole UTF-8 file; a decoding error names its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"{path}, line {line}: not valid UTF-8 ({exc.reason})") from None


def _text_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 text file, skipping blank and ``#`` comment lines."""
    for line_no, line in enumerate(_read_text(path, what).split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip() and not line.startswith("#"):
            yield line_no, line


def _year(value: np.ndarray) -> np.ndarray:
    """MSD years as float64 with 0 (unknown) -> NaN."""
    year = np.asarray(value, dtype=np.float64)
    return np.where(year == 0, np.nan, year)


def _decode(values: np.ndarray) -> np.ndarray:
    """Fixed-width byte strings -> object array of str."""
    return np.char.decode(np.asarray(values, dtype=np.bytes_), "utf-8").astype(object)


# --- HDF5 (per-track files and the summary file) ------------------------------------------------


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
            out[column] = _year(values)
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
    return [_existing_file(p, "MSD HDF5 track file") for p in paths_or_dir]


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
    p = _existing_file(path, "MSD summary HDF5 file")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ValueError(f"{p}: cannot read as an HDF5 file ({exc})") from exc
    with f:
        cols = _song_columns(f, p)
    frame = _frame(cols, SONG_COLUMNS)
    _check_unique_index(frame, p)
    return frame


# --- SQLite databases ---------------------------------------------------------------------------


def _query(path: str | os.PathLike, what: str, sql: str, expected: str) -> list[tuple]:
    """Rows of a read-only ``sql`` query; SQLite errors become ValueError naming the file."""
    p = _existing_file(path, what)
    try:
        con = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ValueError(f"{p}: cannot open the {what} ({exc})") from exc
    try:
        return con.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise ValueError(f"{p}: cannot read the {what} ({exc}); expected {expected}") from exc
    finally:
        con.close()


def _check_db_types(path: str | os.PathLike, table: str, checks: dict[str, str]) -> None:
    """Fail on the first row whose column has the wrong SQLite type (``checks``: column -> SQL test)."""
    for column, test in checks.items():
        rows = _query(
            path,
            "SQLite database",
            f"SELECT rowid, {column} FROM {table} WHERE NOT ({test}) ORDER BY rowid LIMIT 1",
            f"a table {table} with column {column}",
        )
        if rows:
            raise ValueError(
                f"{path}: table {table}, rowid {rows[0][0]}: {column} {rows[0][1]!r} is not {checks[column]}"
            )


def read_track_metadata_db(path: str | os.PathLike) -> pd.DataFrame:
    """Per-track metadata from ``track_metadata.db`` (official table ``songs``); year 0 -> NaN.

    Columns: :data:`TRACK_METADATA_COLUMNS`.
    """
    expected = f"table songs(track_id, {', '.join(TRACK_METADATA_COLUMNS)})"
    rows = _query(
        path,
        "track metadata database",
        f"SELECT rowid, track_id, {', '.join(TRACK_METADATA_COLUMNS)} FROM songs ORDER BY rowid",
        expected,
    )
    checks = {"track_id": "typeof(track_id) = 'text' AND length(trim(track_id)) > 0"}
    checks |= {c: f"typeof({c}) IN ('integer', 'real', 'null')" for c in _NUMERIC_DB_COLUMNS}
    _check_db_types(path, "songs", checks)
    frame = pd.DataFrame(rows, columns=["rowid", "track_id", *TRACK_METADATA_COLUMNS])
    frame = frame.set_index(pd.Index(frame["track_id"].astype(object), name="track_id"))
    for column in _NUMERIC_DB_COLUMNS:
        frame[column] = frame[column].astype(np.float64)
    frame["year"] = _year(frame["year"].to_numpy())
    rowids = frame.pop("rowid").to_numpy()
    frame = frame.drop(columns="track_id")
    _check_unique_index(frame, Path(path), [f"rowid {r}" for r in rowids])
    return frame


def read_artist_terms(path: str | os.PathLike) -> pd.DataFrame:
    """Echo Nest terms and MusicBrainz tags per artist from ``artist_term.db`` (official tables
    ``artists``, ``terms``, ``artist_term``, ``mbtags``, ``artist_mbtag``).

    Indexed by ``artist_id``; columns ``artist_terms`` and ``artist_mbtags`` hold sorted tuples.
    Every artist of the ``artists`` table is listed, with empty tuples where it has none.
    """
    expected = "tables artists(artist_id), artist_term(artist_id, term), artist_mbtag(artist_id, mbtag)"
    for table, test in (
        ("artists", "typeof(artist_id) = 'text'"),
        ("artist_term", "typeof(artist_id) = 'text' AND typeof(term) = 'text'"),
        ("artist_mbtag", "typeof(artist_id) = 'text' AND typeof(mbtag) = 'text'"),
    ):
        bad = _query(
            path, "artist term database", f"SELECT rowid FROM {table} WHERE NOT ({test}) LIMIT 1", expected
        )
        if bad:
            raise ValueError(f"{path}: table {table}, rowid {bad[0][0]}: expected non-null text ({test})")
    artists = {r[0] for r in _query(path, "artist term database", "SELECT artist_id FROM artists", expected)}
    grouped: dict[str, dict[str, list[str]]] = {}
    for column, table, field in (
        ("artist_terms", "artist_term", "term"),
        ("artist_mbtags", "artist_mbtag", "mbtag"),
    ):
        by_artist: dict[str, list[str]] = {}
        sql = f"SELECT DISTINCT artist_id, {field} FROM {table}"
        for artist, value in _query(path, "artist term database", sql, expected):
            by_artist.setdefault(artist, []).append(value)
        grouped[column] = by_artist
        artists.update(by_artist)
    index = pd.Index(sorted(artists), dtype=object, name="artist_id")
    frame = pd.DataFrame(index=index)
    for column, by_artist in grouped.items():
        frame[column] = pd.Series(
            [tuple(sorted(by_artist.get(a, ()))) for a in index], index=index, dtype=object
        )
    return frame


def read_artist_terms_db(path: str | os.PathLike, artist_ids: pd.Series) -> pd.DataFrame:
    """Each track's artist terms and MusicBrainz tags from ``artist_term.db``.

    ``artist_ids`` maps track ids (its index) to artist ids (e.g. the ``artist_id`` column of
    :func:`read_track_metadata_db`). Returns a frame with the same index and columns
    ``artist_terms``/``artist_mbtags`` (tuples), None where the artist id is missing or unknown to
    the database.
    """
    per_artist = read_artist_terms(path)
    out = pd.DataFrame(index=pd.Index(artist_ids.index, name="track_id"))
    keys = artist_ids.to_numpy(dtype=object)
    known = pd.Index(per_artist.index).get_indexer(pd.Index(keys, dtype=object))
    for column in ("artist_terms", "artist_mbtags"):
        values = per_artist[column].to_numpy(dtype=object)
        out[column] = pd.Series([values[k] if k >= 0 else None for k in known], index=out.index, dtype=object)
    return out


# --- text files ---------------------------------------------------------------------------------


def read_tagtraum(path: str | os.PathLike) -> pd.DataFrame:
    """tagtraum genre annotations (``msd_tagtraum_cd1.cls``: ``TRACK_ID<TAB>majority[<TAB>minority]``).

    Columns ``genre_majority`` and ``genre_minority`` (None where the line has no minority genre).
    """
    p = _existing_file(path, "tagtraum genre file")
    ids: list[str] = []
    majority: list[str] = []
    minority: list[str | None] = []
    lines: list[int] = []
    for line_no, line in _text_lines(p, "tagtraum genre file"):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) not in (2, 3) or not all(fields):
            raise ValueError(
                f"{p}, line {line_no}: expected TRACK_ID<TAB>majority genre[<TAB>minority genre], "
                f"got {line!r}"
            )
        ids.append(fields[0])
        majority.append(fields[1])
        minority.append(fields[2] if len(fields) == 3 else None)
        lines.append(line_no)
    frame = pd.DataFrame(
        {
            "genre_majority": pd.Series(majority, dtype=object),
            "genre_minority": pd.Series(minority, dtype=object),
        }
    ).set_index(pd.Index(ids, dtype=object, name="track_id"))
    _check_unique_index(frame, p, lines)
    return frame


def read_year_by_mxm(path: str | os.PathLike) -> pd.DataFrame:
    """Release years keyed by musiXmatch track id (lines ``MXM_TID<TAB>year``); year 0 -> NaN.

    Indexed by ``mxm_tid``; one column ``year`` (float64).
    """
    p = _existing_file(path, "musiXmatch year file")
    ids: list[str] = []
    years: list[int] = []
    lines: list[int] = []
    for line_no, line in _text_lines(p, "musiXmatch year file"):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 2 or not fields[0]:
            raise ValueError(f"{p}, line {line_no}: expected MXM_TID<TAB>year, got {line!r}")
        try:
            year = int(fields[1])
        except ValueError:
            raise ValueError(f"{p}, line {line_no}: year {fields[1]!r} is not an integer") from None
        if year < 0:
            raise ValueError(f"{p}, line {line_no}: year {year} is negative")
        ids.append(fields[0])
        years.append(year)
        lines.append(line_no)
    frame = pd.DataFrame(
        {"year": _year(np.asarray(years, dtype=np.int64))}, index=pd.Index(ids, dtype=object)
    )
    frame.index.name = "mxm_tid"
    _check_unique_index(frame, p, lines)
    return frame


def table_separator(path: str | os.PathLike) -> str:
    """Tab for ``.tsv``/``.tab``/``.txt`` files, else comma."""
    return "\t" if Path(path).suffix.lower() in (".tsv", ".tab", ".txt") else ","


def read_label_table(path: str | os.PathLike, id_column: str, sep: str | None = None) -> pd.DataFrame:
    """A generic CSV/TSV label table with a header row and a track-id column.

    ``sep`` defaults to :func:`table_separator`. Indexed by the ids of ``id_column`` (index name
    ``track_id``). Empty cells and the spellings of :data:`MISSING_CELLS` are missing; a column whose
    other cells all parse as numbers (``inf`` included) becomes float64 (missing: NaN), any other
    column stays str (missing: None).
    """
    p = _existing_file(path, "label table")
    sep = sep or table_separator(p)
    text = _read_text(p, "label table")
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{p}: empty label table (expected a header row)")
        header = [h.strip() for h in header]
        if len(set(header)) != len(header):
            raise ValueError(f"{p}, line 1: repeated column names in the header {header}")
        if id_column not in header:
            raise ValueError(
                f"{p}: no id column {id_column!r} in the header (columns: {', '.join(header)}; "
                f"separator {sep!r})"
            )
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{p}, line {reader.line_num}: {len(row)} fields where the header has {len(header)}"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise ValueError(f"{p}, line {reader.line_num}: malformed CSV ({exc})") from None
    raw = pd.DataFrame(rows, columns=header, dtype=object)
    ids = raw.pop(id_column).str.strip()
    empty = np.flatnonzero((ids == "").to_numpy())
    if empty.size:
        raise ValueError(f"{p}, line {lines[empty[0]]}: empty {id_column}")
    frame = pd.DataFrame(index=pd.Index(ids.to_numpy(dtype=object), name="track_id"))
    for column in raw.columns:
        cells = raw[column].str.strip()
        blank = cells.str.lower().isin(MISSING_CELLS).to_numpy()
        numbers = pd.to_numeric(cells.where(~blank, None), errors="coerce")
        if bool(np.all(numbers.notna().to_numpy() | blank)):
            frame[column] = numbers.to_numpy(dtype=np.float64)
        else:
            frame[column] = pd.Series(
                cells.where(~blank, None).to_numpy(dtype=object), index=frame.index, dtype=object
            )
    _check_unique_index(frame, p, lines)
    return frame
