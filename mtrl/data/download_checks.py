"""What the download modules share: their error, their logger's name and the checks of a file.

:func:`check_content` tells a file's content kind from its first bytes (:data:`CONTENT_KINDS`; an
HTML error page served with status 200 is named as such), :func:`sha256_of` computes a file's
checksum and :func:`sidecar_path` names the ``<file>.sha256`` file that records it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

# the logger of every download module: one name, so that a log or a test filters on it alone
LOGGER_NAME = "mtrl.data.download"
CHUNK_BYTES = 1 << 20

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
    """Raise :class:`DownloadError` unless ``path`` holds content of ``kind`` (see CONTENT_KINDS).

    ``what`` names the file in the message (a URL, an archive member); default: the path.
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
