"""Fetch, verify and unpack the official Million Song Dataset / musiXmatch / tagtraum files.

:data:`REGISTRY` lists the files ``data.msd`` can point at, keyed by the name they are served
under. :func:`download` streams one URL to a temporary file beside its destination and moves it
into place only after every check passed: the byte count (the server's Content-Length and, when
given, the expected size), the sha256 (when pinned) and the file's content kind (an HTML error page
served with status 200 is caught). The computed sha256 is always logged and written to a
``<file>.sha256`` sidecar in ``sha256sum`` format, so that a later run can pin it
(``download.sha256: {<name>: <hex>}`` in the config). ``download.mirror`` (a URL folder holding
the files under their official names) replaces the official addresses. :func:`unpack` checks a
zip archive (``ZipFile.testzip``) and extracts members the same way. Every failure raises
:class:`DownloadError` naming the URL or file and what was expected; nothing half-written is left
at a destination.

The workflow side (rules/download.smk) reads its settings with :func:`settings`, asks
:func:`targets` which files to fetch and :func:`study_inputs` which of the files ``data.msd``
points at come from the download (rule ``prepare_data`` waits for those).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mtrl.io import atomic_path

log = logging.getLogger(__name__)

MSD_ADDITIONAL_FILES = "http://millionsongdataset.com/sites/default/files/AdditionalFiles"
TAGTRAUM_GENRES = "http://www.tagtraum.com/genres"
DEFAULT_TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 20
MB = 1_000_000


@dataclass(frozen=True)
class OfficialFile:
    """One official file: where it is served, what it unpacks to and what it gives the study.

    ``kind`` is the content of the downloaded file (``zip``, ``sqlite``, ``hdf5``); ``unpacks_to``
    the zip member that ``data.msd`` points at (None: the download is used as it is) and
    ``content`` that file's kind (``mxm``, ``tagtraum``, ``sqlite``, ``hdf5``). ``approx_mb`` is
    the rough download size, for the log and the README only (never checked).
    """

    name: str
    url: str
    kind: str
    content: str
    config_key: str
    approx_mb: float
    tasks: str
    unpacks_to: str | None = None

    @property
    def path_name(self) -> str:
        """The name of the file ``data.msd`` points at (the zip member, or the download itself)."""
        return self.unpacks_to or self.name


_REGISTRY_FILES = (
    OfficialFile(
        name="mxm_dataset_train.txt.zip",
        url=f"{MSD_ADDITIONAL_FILES}/mxm_dataset_train.txt.zip",
        kind="zip",
        unpacks_to="mxm_dataset_train.txt",
        content="mxm",
        config_key="lyrics",
        approx_mb=30,
        tasks="bag-of-words lyrics of 210,519 tracks: the features of every task",
    ),
    OfficialFile(
        name="mxm_dataset_test.txt.zip",
        url=f"{MSD_ADDITIONAL_FILES}/mxm_dataset_test.txt.zip",
        kind="zip",
        unpacks_to="mxm_dataset_test.txt",
        content="mxm",
        config_key="lyrics",
        approx_mb=4,
        tasks="bag-of-words lyrics of 27,143 more tracks (merged with the training file)",
    ),
    OfficialFile(
        name="msd_tagtraum_cd1.cls.zip",
        url=f"{TAGTRAUM_GENRES}/msd_tagtraum_cd1.cls.zip",
        kind="zip",
        unpacks_to="msd_tagtraum_cd1.cls",
        content="tagtraum",
        config_key="tagtraum",
        approx_mb=2,
        tasks="genre:<Name> (binary) and genre (multiclass): tagtraum CD1, 133,676 MSD tracks",
    ),
    OfficialFile(
        name="track_metadata.db",
        url=f"{MSD_ADDITIONAL_FILES}/track_metadata.db",
        kind="sqlite",
        content="sqlite",
        config_key="track_metadata_db",
        approx_mb=700,
        tasks="year, duration, artist_familiarity, artist_hotttnesss; the artist ids artist_term.db needs",
    ),
    OfficialFile(
        name="artist_term.db",
        url=f"{MSD_ADDITIONAL_FILES}/artist_term.db",
        kind="sqlite",
        content="sqlite",
        config_key="artist_term_db",
        approx_mb=130,
        tasks="term:<term> (Echo Nest terms) and mbtag:<tag> (MusicBrainz tags) of each track's artist",
    ),
    OfficialFile(
        name="msd_summary_file.h5",
        url=f"{MSD_ADDITIONAL_FILES}/msd_summary_file.h5",
        kind="hdf5",
        content="hdf5",
        config_key="summary_h5",
        approx_mb=300,
        tasks="loudness, tempo, duration, year, song_hotttnesss, artist_hotttnesss, artist_familiarity",
    ),
)
REGISTRY: dict[str, OfficialFile] = {f.name: f for f in _REGISTRY_FILES}
# name of the file data.msd points at -> its registry entry
BY_PATH_NAME: dict[str, OfficialFile] = {f.path_name: f for f in _REGISTRY_FILES}
ARCHIVES: dict[str, OfficialFile] = {f.path_name: f for f in _REGISTRY_FILES if f.unpacks_to}

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
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class DownloadError(RuntimeError):
    """A download, checksum, archive or content check failed (the message names the URL or file)."""


# --- checks -------------------------------------------------------------------------------------


def check_content(path: str | os.PathLike, kind: str, what: str | None = None) -> None:
    """Raise :class:`DownloadError` unless ``path`` holds content of ``kind`` (see CONTENT_KINDS).

    ``what`` names the file in the message (a URL, an archive member); default: the path.
    """
    if kind not in CONTENT_KINDS:
        raise ValueError(f"unknown content kind {kind!r}; known: {', '.join(CONTENT_KINDS)}")
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


def _checked_sha256(sha256: str | None, what: str) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"{what}: sha256 {sha256!r} is not 64 hexadecimal digits")
    return sha256.lower()


# --- download -----------------------------------------------------------------------------------


def download(
    url: str,
    dest: str | os.PathLike,
    expected_size: int | None = None,
    sha256: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    kind: str | None = None,
    progress_every_mb: float = 50.0,
) -> str:
    """Stream ``url`` to ``dest`` and verify it; return its sha256 (hex).

    The bytes go to a temporary file beside ``dest``, which replaces ``dest`` only once the byte
    count matches the server's Content-Length and ``expected_size`` (each when known), the sha256
    matches ``sha256`` (when given) and the content is of ``kind`` (when given, see
    :func:`check_content`). ``<dest>.sha256`` then records the checksum (``sha256sum`` format).
    ``timeout`` (seconds) bounds the connection and every read. A line is logged every
    ``progress_every_mb`` MB. Raises :class:`DownloadError` naming the URL on any failure, leaving
    ``dest`` as it was.
    """
    dest = Path(dest)
    sha256 = _checked_sha256(sha256, url)
    if kind is not None and kind not in CONTENT_KINDS:
        raise ValueError(f"unknown content kind {kind!r}; known: {', '.join(CONTENT_KINDS)}")
    log.info("downloading %s -> %s", url, dest)
    request = urllib.request.Request(
        url, headers={"User-Agent": "mtrl-download/1", "Accept-Encoding": "identity"}
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"{url}: HTTP error {err.code} ({err.reason}); expected 200 with the file"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"{url}: cannot download ({reason})") from None
    with response, atomic_path(dest) as tmp:
        if response.geturl() != url:
            log.info("%s: redirected to %s", url, response.geturl())
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise DownloadError(
                f"{url}: the server sent Content-Encoding {encoding!r}; expected the plain file"
            )
        length = _content_length(response, url)
        if length is not None and expected_size is not None and length != expected_size:
            raise DownloadError(
                f"{url}: the server announces {length:,} bytes (Content-Length) but {expected_size:,} are "
                "expected; the file on the server differs from the one this workflow knows"
            )
        total = length if length is not None else expected_size
        digest, received = _stream(response, tmp, url, total, progress_every_mb)
        if length is not None and received != length:
            raise DownloadError(
                f"{url}: short download: received {received:,} of the {length:,} bytes announced "
                "(Content-Length); the connection closed early, try again"
            )
        if expected_size is not None and received != expected_size:
            raise DownloadError(f"{url}: received {received:,} bytes, expected {expected_size:,}")
        if sha256 is not None and digest != sha256:
            raise DownloadError(
                f"{url}: sha256 mismatch: the download has {digest}, expected {sha256} "
                f"(download.sha256 of {dest.name}); the file was not kept"
            )
        if kind is not None:
            check_content(tmp, kind, what=f"{url} (for {dest})")
    with atomic_path(sidecar_path(dest)) as tmp:
        tmp.write_text(f"{digest}  {dest.name}\n")
    if sha256 is None:
        log.info(
            "%s: %d bytes, sha256 %s (not pinned; to pin it, add '%s: %s' under download.sha256)",
            dest, received, digest, dest.name, digest,
        )  # fmt: skip
    else:
        log.info("%s: %d bytes, sha256 %s as pinned", dest, received, digest)
    return digest


def _content_length(response, url: str) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        log.warning("%s: ignoring the malformed Content-Length %r", url, value)
        return None
    return length if length >= 0 else None


def _stream(response, tmp: Path, url: str, total: int | None, every_mb: float) -> tuple[str, int]:
    """Copy the body to ``tmp``; return (sha256 hex, bytes received)."""
    digest = hashlib.sha256()
    received = 0
    step = max(int(every_mb * MB), 1)
    next_report = step
    start = time.monotonic()
    try:
        with open(tmp, "wb") as out:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if received >= next_report:
                    next_report += step
                    _log_progress(url, received, total, time.monotonic() - start)
    except http.client.IncompleteRead as err:
        received += len(err.partial)
        expected = f" of the {total:,} bytes announced" if total is not None else ""
        raise DownloadError(
            f"{url}: short download: the connection closed after {received:,} bytes{expected}; try again"
        ) from None
    except (OSError, http.client.HTTPException) as err:
        raise DownloadError(
            f"{url}: download failed after {received:,} bytes ({err or type(err).__name__})"
        ) from None
    _log_progress(url, received, total, time.monotonic() - start)
    return digest.hexdigest(), received


def _log_progress(url: str, received: int, total: int | None, seconds: float) -> None:
    rate = received / MB / seconds if seconds > 0 else float("inf")
    of = f" of {total / MB:,.1f} MB ({100 * received / total:.0f}%)" if total else ""
    log.info("%s: %.1f MB%s, %.1f MB/s", url, received / MB, of, rate)


# --- unpack -------------------------------------------------------------------------------------


def unpack(
    archive: str | os.PathLike,
    dest_dir: str | os.PathLike,
    members: Sequence[str] | None = None,
    content: str | None = None,
) -> list[Path]:
    """Extract ``members`` (default: every file) of the zip ``archive`` into ``dest_dir``.

    The archive is tested first (``ZipFile.testzip``: every member's CRC). Files land in
    ``dest_dir`` under their base names (a member ``a/b.txt`` becomes ``dest_dir/b.txt``; a
    requested name also matches a member in a folder). Each is written to a temporary file, checked
    against ``content`` (when given, see :func:`check_content`) and moved into place only when
    every member extracted and passed. Returns the paths written. Raises :class:`DownloadError`
    for a missing or corrupt archive, a missing member or wrong content.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if content is not None and content not in CONTENT_KINDS:
        raise ValueError(f"unknown content kind {content!r}; known: {', '.join(CONTENT_KINDS)}")
    if not archive.is_file():
        raise DownloadError(f"{archive}: zip archive not found")
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DownloadError(
            f"{archive}: not a valid zip archive ({err}); delete it and download it again"
        ) from None
    with zf:
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
            raise DownloadError(
                f"{archive}: corrupt zip archive ({err}); delete it and download it again"
            ) from None
        if bad is not None:
            raise DownloadError(
                f"{archive}: corrupt zip archive: member {bad!r} fails its CRC check; delete it and "
                "download it again"
            )
        files = [info for info in zf.infolist() if not info.is_dir()]
        chosen = files if members is None else [_member(archive, files, m) for m in members]
        targets = [dest_dir / _base_name(archive, info) for info in chosen]
        if len(set(targets)) < len(targets):
            raise DownloadError(
                f"{archive}: several members share a base name; cannot extract them side by side"
            )
        with contextlib.ExitStack() as stack:
            for info, target in zip(chosen, targets, strict=True):
                tmp = stack.enter_context(atomic_path(target))
                try:
                    with zf.open(info) as src, open(tmp, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK_BYTES)
                except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                    raise DownloadError(f"{archive}: cannot extract {info.filename!r} ({err})") from None
                if content is not None:
                    check_content(tmp, content, what=f"{archive}: member {info.filename!r}")
            # leaving the stack moves every temporary file into place
    for target in targets:
        log.info("unpacked %s (%d bytes) from %s", target, target.stat().st_size, archive)
    return targets


def _member(archive: Path, files: list[zipfile.ZipInfo], name: str) -> zipfile.ZipInfo:
    exact = [info for info in files if info.filename == name]
    if exact:
        return exact[0]
    by_base = [info for info in files if PurePosixPath(info.filename).name == name]
    if len(by_base) == 1:
        return by_base[0]
    listed = ", ".join(info.filename for info in files[:10]) or "nothing"
    more = f" and {len(files) - 10} more" if len(files) > 10 else ""
    raise DownloadError(f"{archive}: no member {name!r} (the archive holds {listed}{more})")


def _base_name(archive: Path, info: zipfile.ZipInfo) -> str:
    name = PurePosixPath(info.filename.replace("\\", "/")).name
    if name in ("", ".", ".."):
        raise DownloadError(f"{archive}: member {info.filename!r} has no usable file name")
    return name


# --- workflow settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The ``download`` config section (names, pins and defaults checked by the config schema)."""

    enabled: bool
    dir: str
    files: tuple[str, ...]
    sha256: dict[str, str]
    timeout: float
    mirror: str | None = None

    def url(self, name: str) -> str:
        """Where to fetch ``name``: its official address, or ``<mirror>/<name>``."""
        if self.mirror:
            return f"{self.mirror.rstrip('/')}/{name}"
        return REGISTRY[name].url


def settings(config: Mapping[str, Any]) -> Settings:
    """Read ``config["download"]`` of a validated config, defaults filled in.

    The workflow's config passes Snakemake's ``validate``; elsewhere use
    :func:`mtrl.config.with_defaults`.
    """
    section = config["download"]
    return Settings(
        enabled=section["enabled"],
        dir=os.path.normpath(section["dir"]),
        files=tuple(dict.fromkeys(section["files"])),
        sha256={name: value.lower() for name, value in section["sha256"].items()},
        timeout=float(section["timeout_s"]),
        mirror=section["mirror"] or None,
    )


def targets(config: Mapping[str, Any]) -> list[str]:
    """Paths the workflow must produce when downloading is enabled (none when it is not).

    The file each listed download gives (the unpacked member for a zip), plus every file of the
    registry that ``data.msd`` points at in the download folder.
    """
    s = settings(config)
    if not s.enabled:
        return []
    paths = [os.path.join(s.dir, REGISTRY[name].path_name) for name in s.files]
    paths += study_inputs(config)
    return list(dict.fromkeys(paths))


def study_inputs(config: Mapping[str, Any]) -> list[str]:
    """The ``data.msd`` paths that the download produces (when enabled): ``prepare_data`` waits for them."""
    s = settings(config)
    if not s.enabled:
        return []
    msd = (config.get("data") or {}).get("msd") or {}
    lyrics = msd.get("lyrics") or []
    paths = [lyrics] if isinstance(lyrics, str) else list(lyrics)
    paths += [msd.get(key) for key in ("tagtraum", "track_metadata_db", "artist_term_db", "summary_h5")]
    wanted = {os.path.join(s.dir, name) for name in BY_PATH_NAME}
    normalized = (os.path.normpath(str(p)) for p in paths if p is not None)
    return [p for p in dict.fromkeys(normalized) if p in wanted]
