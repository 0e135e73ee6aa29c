"""What the download modules share: their error, their logger's name and the checks of a file.

:func:`check_content` checks a file's content: :func:`check_signature` tells its kind from its
first bytes (:data:`CONTENT_KINDS`; an HTML error page served with status 200 is named as such)
and :func:`check_complete` opens a zip archive, an SQLite database or an HDF5 file the way its
reader will (``ZipFile.testzip``; ``PRAGMA quick_check``, read-only; h5py, listing the root), so
that a file cut short is refused. :func:`check_approx_size` checks a byte count against a size
known only roughly (within a factor of :data:`APPROX_SIZE_FACTOR`). :func:`sha256_of` computes a
file's checksum and :func:`sidecar_path` names the ``<file>.sha256`` file that records it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import zipfile
import zlib
from pathlib import Path

# the logger of every download module: one name, so that a log or a test filters on it alone
LOGGER_NAME = "mtrl.data.download"
log = logging.getLogger(LOGGER_NAME)
CHUNK_BYTES = 1 << 20
MB = 1_000_000
# a size known only roughly (the registry's approx_mb) accepts a byte count within this factor of
# it either way: wide enough for a rounded or estimated size, narrow enough to refuse most of a
# file missing (the structure checks of check_complete refuse any cut of a zip, SQLite or HDF5 file)
APPROX_SIZE_FACTOR = 3.0

CONTENT_KINDS: dict[str, str] = {
    "zip": "a zip archive (starts with 'PK\\x03\\x04')",
    "sqlite": "an SQLite database (starts with 'SQLite format 3\\x00')",
    "hdf5": "an HDF5 file (signature '\\x89HDF\\r\\n\\x1a\\n')",
    "mxm": "a musiXmatch lyrics file (the first line that is not a '#' comment starts with '%')",
    "tagtraum": "a tagtraum genre file (lines TRACK_ID<TAB>genre[<TAB>genre], TRACK_ID = TR + 16 characters)",
}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_TAGTRAUM_LINE = re.compile(rb"TR[0-9A-Z]{16}\t[^\t]+(\t[^\t]+)?")


class DownloadError(RuntimeError):
    """A download, checksum, archive or content check failed (the message names the URL or file)."""


def require_content_kind(kind: str) -> None:
    """Raise :class:`ValueError` unless ``kind`` is one of :data:`CONTENT_KINDS`."""
    if kind not in CONTENT_KINDS:
        raise ValueError(f"unknown content kind {kind!r}; known: {', '.join(CONTENT_KINDS)}")


def check_content(path: str | os.PathLike, kind: str, what: str | None = None) -> None:
    """Raise :class:`DownloadError` unless ``path`` holds complete content of ``kind``.

    :func:`check_signature`, then :func:`check_complete`. ``what`` names the file in the message
    (a URL, an archive member); default: the path.
    """
    check_signature(path, kind, what)
    check_complete(path, kind, what)


def check_signature(path: str | os.PathLike, kind: str, what: str | None = None) -> None:
    """Raise :class:`DownloadError` unless the first bytes of ``path`` are those of ``kind``.

    See :data:`CONTENT_KINDS`; ``what`` names the file in the message (default: the path).
    """
    require_content_kind(kind)
    path = Path(path)
    what = what or str(path)
    with open(path, "rb") as f:
        head = f.read(64)
        if kind == "zip":
            ok = head[:4] in _ZIP_MAGICS
        elif kind == "sqlite":
            ok = head.startswith(_SQLITE_MAGIC)
        elif kind == "hdf5":
            ok = _has_hdf5_signature(f)
        elif kind == "mxm":
            ok = _first_data_line(f).startswith(b"%")
        else:
            ok = _tagtraum_lines_ok(f)
    if not ok:
        raise DownloadError(f"{what}: expected {CONTENT_KINDS[kind]}, but the file starts with {_show(head)}")


def check_complete(path: str | os.PathLike, kind: str, what: str | None = None) -> None:
    """Raise :class:`DownloadError` unless a zip, SQLite or HDF5 file opens and reads as a whole.

    A zip archive must pass ``ZipFile.testzip`` (every member's CRC), an SQLite database
    ``PRAGMA quick_check`` (opened read-only) and an HDF5 file must open with h5py and list its
    root: each of these refuses a file cut short. The text kinds (``mxm``, ``tagtraum``) have no
    such check (they come out of a CRC-checked zip). ``what`` names the file (default: the path).
    """
    require_content_kind(kind)
    if kind not in _STRUCTURE_CHECKS:
        return
    find_problem, how = _STRUCTURE_CHECKS[kind]
    log.info("%s: checking that it reads as a whole (%s)", what or path, how)
    problem = find_problem(Path(path))
    if problem is not None:
        noun = CONTENT_KINDS[kind].split(" (", 1)[0]
        raise DownloadError(
            f"{what or path}: expected {noun} that reads as a whole, but {problem}; the download was "
            "cut short or the file is damaged"
        )


def check_approx_size(what: str, received: int, approx: int) -> None:
    """Raise :class:`DownloadError` unless ``received`` bytes lie near ``approx``, a rough size.

    Near: within a factor of :data:`APPROX_SIZE_FACTOR` either way. ``what`` names the download.
    """
    low, high = approx_size_bounds(approx)
    if not low <= received <= high:
        raise DownloadError(
            f"{what}: received {received:,} bytes, but about {approx:,} are expected (the registry's "
            f"approximate size; accepted: {low:,} to {high:,} bytes, a factor of {APPROX_SIZE_FACTOR:g} "
            "either way): the connection closed early or the server sent another file; to accept "
            "this file, give its byte count under download.sizes"
        )


def approx_size_bounds(approx: int) -> tuple[int, int]:
    """The byte counts a size known only roughly accepts: (lowest, highest)."""
    return int(approx / APPROX_SIZE_FACTOR), int(approx * APPROX_SIZE_FACTOR)


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        return f"it does not open as a zip archive ({err})"
    if bad is not None:
        return f"member {bad!r} fails its CRC check"
    return None


def _sqlite_problem(path: Path) -> str | None:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            rows = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as err:
        return f"PRAGMA quick_check fails ({err})"
    if rows != [("ok",)]:
        shown = "; ".join(str(row[0]) for row in rows[:3]) + (
            f"; ... ({len(rows)} in all)" if len(rows) > 3 else ""
        )
        return f"PRAGMA quick_check reports: {shown}"
    return None


def _hdf5_problem(path: Path) -> str | None:
    import h5py  # imported here: the workflow imports this module to parse its rules

    try:
        with h5py.File(path, "r") as f:
            list(f.keys())
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        return f"h5py cannot open it and list its root ({err})"
    return None


# kind -> (the check, what it does, for the log)
_STRUCTURE_CHECKS = {
    "zip": (_zip_problem, "ZipFile.testzip"),
    "sqlite": (_sqlite_problem, "PRAGMA quick_check"),
    "hdf5": (_hdf5_problem, "h5py, listing the root"),
}


def _has_hdf5_signature(f) -> bool:
    """The HDF5 superblock sits at offset 0, 512, 1024, 2048, ... (after an optional user block)."""
    offset = 0
    while offset <= 1 << 20:
        f.seek(offset)
        block = f.read(len(_HDF5_MAGIC))
        if len(block) < len(_HDF5_MAGIC):
            return False
        if block == _HDF5_MAGIC:
            return True
        offset = 512 if offset == 0 else 2 * offset
    return False


def _data_lines(f, max_lines: int = 10_000):
    """Lines that are neither blank nor ``#`` comments, without their line ending."""
    f.seek(0)
    for _, line in zip(range(max_lines), f, strict=False):
        line = line.rstrip(b"\r\n")
        if line.strip() and not line.startswith(b"#"):
            yield line


def _first_data_line(f) -> bytes:
    return next(_data_lines(f), b"")


def _tagtraum_lines_ok(f, n: int = 5) -> bool:
    lines = [line for _, line in zip(range(n), _data_lines(f), strict=False)]
    return bool(lines) and all(_TAGTRAUM_LINE.fullmatch(line) for line in lines)


def _show(head: bytes) -> str:
    shown = repr(head[:32])
    if b"<html" in head.lower() or b"<!doctype" in head.lower():
        shown += " (an HTML page: the server sent an error or landing page instead of the file)"
    elif not head:
        shown = "nothing (the file is empty)"
    return shown


def sha256_of(path: str | os.PathLike) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar_path(path: str | os.PathLike) -> Path:
    """``<file>.sha256`` beside ``path``."""
    path = Path(path)
    return path.with_name(f"{path.name}.sha256")
