"""Readers of the text label files: tagtraum genres, musiXmatch years and generic CSV/TSV tables.

Files are read as UTF-8 (a leading byte-order mark is dropped); a malformed line raises ValueError
naming the file and the line, and a binary file (e.g. still compressed) ValueError calling it binary.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from mtrl.data.msd_files import check_unique_index, existing_file, msd_years
from mtrl.data.text_files import binary_message, strip_bom

MISSING_CELLS: tuple[str, ...] = ("", "nan", "na", "n/a", "null", "none")


def _read_text(path: Path, what: str) -> str:
    """The whole UTF-8 file without a byte-order mark; a decoding error names its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc
    binary = binary_message(raw, what)
    if binary is not None:
        raise ValueError(f"{path}: {binary}")
    raw = strip_bom(raw)
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


def read_tagtraum(path: str | os.PathLike) -> pd.DataFrame:
    """tagtraum genre annotations (``msd_tagtraum_cd1.cls``: ``TRACK_ID<TAB>majority[<TAB>minority]``).

    Columns ``genre_majority`` and ``genre_minority`` (None where the line has no minority genre).
    """
    p = existing_file(path, "tagtraum genre file")
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
    check_unique_index(frame, p, lines)
    return frame


def read_year_by_mxm(path: str | os.PathLike) -> pd.DataFrame:
    """Release years keyed by musiXmatch track id (lines ``MXM_TID<TAB>year``); year 0 -> NaN.

    Indexed by ``mxm_tid``; one column ``year`` (float64).
    """
    p = existing_file(path, "musiXmatch year file")
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
        {"year": msd_years(np.asarray(years, dtype=np.int64))}, index=pd.Index(ids, dtype=object)
    )
    frame.index.name = "mxm_tid"
    check_unique_index(frame, p, lines)
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
    p = existing_file(path, "label table")
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
    check_unique_index(frame, p, lines)
    return frame
