"""Readers of the MSD SQLite databases: ``track_metadata.db`` and ``artist_term.db``.

The databases are opened read-only; an SQLite error or a value of the wrong type becomes a
ValueError naming the file (and the table and rowid of the first bad row).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from mtrl.data.msd_files import check_unique_index, existing_file, msd_years

TRACK_METADATA_COLUMNS: tuple[str, ...] = (
    "title", "song_id", "release", "artist_id", "artist_mbid", "artist_name",
    "duration", "artist_familiarity", "artist_hotttnesss", "year",
)  # fmt: skip
_NUMERIC_DB_COLUMNS = ("duration", "artist_familiarity", "artist_hotttnesss", "year")


def _query(path: str | os.PathLike, what: str, sql: str, expected: str) -> list[tuple]:
    """Rows of a read-only ``sql`` query; SQLite errors become ValueError naming the file."""
    p = existing_file(path, what)
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
    frame["year"] = msd_years(frame["year"].to_numpy())
    rowids = frame.pop("rowid").to_numpy()
    frame = frame.drop(columns="track_id")
    check_unique_index(frame, Path(path), [f"rowid {r}" for r in rowids])
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
