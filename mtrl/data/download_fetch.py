"""Stream one URL to a file and keep it only once every check passed.

:func:`download` writes the bytes to a temporary file beside the destination and moves it into
place only after the byte count (the server's Content-Length and, when given, the exact or the
approximate expected size), the sha256 (when pinned), the file's content kind (an HTML error page
served with status 200 is caught) and that the content reads as a whole (a zip, SQLite or HDF5
file cut short is caught, even when the server sent no Content-Length) were checked. The computed
sha256 is always logged and written to a ``<file>.sha256`` sidecar in ``sha256sum`` format, so
that a later run can pin it. Every failure raises
:class:`~mtrl.data.download_checks.DownloadError` naming the URL; nothing half-written is left at
the destination.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
import urllib.response
from pathlib import Path

from mtrl.data.download_checks import (
    CHUNK_BYTES,
    LOGGER_NAME,
    MB,
    DownloadError,
    check_approx_size,
    check_complete,
    check_signature,
    require_content_kind,
    sidecar_path,
)
from mtrl.io import atomic_path

log = logging.getLogger(LOGGER_NAME)

DEFAULT_TIMEOUT_S = 60.0
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# what urlopen returns: an http(s) URL gives the former, a file: or ftp: URL the latter
_Response = http.client.HTTPResponse | urllib.response.addinfourl


def download(
    url: str,
    dest: str | os.PathLike,
    expected_size: int | None = None,
    sha256: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    kind: str | None = None,
    progress_every_mb: float = 50.0,
    approx_size: int | None = None,
) -> str:
    """Stream ``url`` to ``dest`` and verify it; return its sha256 (hex).

    The bytes go to a temporary file beside ``dest``, which replaces ``dest`` only once the byte
    count matches the server's Content-Length and ``expected_size`` (each when known), the sha256
    matches ``sha256`` (when given), the content is of ``kind`` and reads as a whole (when given,
    see :func:`~mtrl.data.download_checks.check_content`: a zip, SQLite or HDF5 file cut short is
    refused) and the byte count lies near ``approx_size`` (a size known only roughly, when given;
    see :func:`~mtrl.data.download_checks.check_approx_size`). ``<dest>.sha256`` then records
    the checksum (``sha256sum`` format). ``timeout`` (seconds) bounds the connection and every
    read. A line is logged every ``progress_every_mb`` MB. Raises
    :class:`~mtrl.data.download_checks.DownloadError` naming the URL and ``dest`` on any failure,
    leaving ``dest`` and its sidecar as they were.
    """
    dest = Path(dest)
    sha256 = _checked_sha256(sha256, url)
    if kind is not None:
        require_content_kind(kind)
    what = f"{url} (for {dest})"
    log.info("downloading %s -> %s", url, dest)
    with _open(url, timeout) as response, atomic_path(dest) as tmp:
        length = _checked_headers(response, url, expected_size)
        total = length if length is not None else expected_size
        digest, received = _stream(response, tmp, url, total, progress_every_mb)
        _check_size(what, received, length, expected_size)
        if sha256 is not None and digest != sha256:
            raise DownloadError(
                f"{url}: sha256 mismatch: the download has {digest}, expected {sha256} "
                f"(download.sha256 of {dest.name}); the file was not kept"
            )
        _check_file(tmp, what, kind, received, approx_size)
    _record_sha256(dest, digest, received, pinned=sha256 is not None)
    return digest


def _check_file(tmp: Path, what: str, kind: str | None, received: int, approx_size: int | None) -> None:
    """The content's signature, then the rough size, then that the content reads as a whole.

    The signature comes first so that an HTML page served instead of the file is named as such.
    """
    if kind is not None:
        check_signature(tmp, kind, what)
    if approx_size is not None:
        check_approx_size(what, received, approx_size)
    if kind is not None:
        check_complete(tmp, kind, what)


def _checked_sha256(sha256: str | None, what: str) -> str | None:
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"{what}: sha256 {sha256!r} is not 64 hexadecimal digits")
    return sha256.lower()


def _open(url: str, timeout: float) -> _Response:
    """The response to a plain GET of ``url`` (after any redirect); HTTP and connection errors raise."""
    request = urllib.request.Request(
        url, headers={"User-Agent": "mtrl-download/1", "Accept-Encoding": "identity"}
    )
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"{url}: HTTP error {err.code} ({err.reason}); expected 200 with the file"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"{url}: cannot download ({reason})") from None


def _checked_headers(response: _Response, url: str, expected_size: int | None) -> int | None:
    """Check the response's encoding and announced size; return its Content-Length (None: unknown)."""
    if response.geturl() != url:
        log.info("%s: redirected to %s", url, response.geturl())
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise DownloadError(f"{url}: the server sent Content-Encoding {encoding!r}; expected the plain file")
    length = _content_length(response, url)
    if length is not None and expected_size is not None and length != expected_size:
        raise DownloadError(
            f"{url}: the server announces {length:,} bytes (Content-Length) but {expected_size:,} are "
            "expected; the file on the server differs from the one this workflow knows"
        )
    return length


def _content_length(response: _Response, url: str) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        log.warning("%s: ignoring the malformed Content-Length %r", url, value)
        return None
    return length if length >= 0 else None


def _check_size(what: str, received: int, length: int | None, expected_size: int | None) -> None:
    """Raise unless ``received`` bytes match the Content-Length and the expected size (each when known)."""
    if length is not None and received != length:
        raise DownloadError(
            f"{what}: short download: received {received:,} of the {length:,} bytes announced "
            "(Content-Length); the connection closed early, try again"
        )
    if expected_size is not None and received != expected_size:
        raise DownloadError(
            f"{what}: received {received:,} bytes, but exactly {expected_size:,} are expected; "
            "the connection closed early or the server sent another file; the file was not kept"
        )


def _record_sha256(dest: Path, digest: str, received: int, pinned: bool) -> None:
    """Write ``<dest>.sha256`` (``sha256sum`` format) and log the checksum, with how to pin it."""
    with atomic_path(sidecar_path(dest)) as tmp:
        tmp.write_text(f"{digest}  {dest.name}\n")
    if not pinned:
        log.info(
            "%s: %d bytes, sha256 %s (not pinned; to pin it, add '%s: %s' under download.sha256)",
            dest, received, digest, dest.name, digest,
        )  # fmt: skip
    else:
        log.info("%s: %d bytes, sha256 %s as pinned", dest, received, digest)


def _stream(response: _Response, tmp: Path, url: str, total: int | None, every_mb: float) -> tuple[str, int]:
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
