"""Fetch, verify and unpack the official Million Song Dataset / musiXmatch / tagtraum files.

This module gathers the public names of the download modules, each with one job:

- :mod:`mtrl.data.download_registry`: :data:`~mtrl.data.download_registry.REGISTRY` lists the
  files ``data.msd`` can point at, keyed by the name they are served under;
- :mod:`mtrl.data.download_fetch`: :func:`~mtrl.data.download_fetch.download` streams one URL to
  a temporary file beside its destination and moves it into place only after every check passed:
  the byte count (the server's Content-Length and, when given, the exact or the approximate
  expected size), the sha256 (when pinned), the file's content kind (an HTML error page served
  with status 200 is caught) and that the content reads as a whole (a zip archive passes
  ``testzip``, an SQLite database ``PRAGMA quick_check``, an HDF5 file opens and lists its root).
  The computed sha256 is always logged and written to a ``<file>.sha256`` sidecar in
  ``sha256sum`` format, so that a later run can pin it (``download.sha256: {<name>: <hex>}`` in
  the config). ``download.mirror`` (a URL folder holding the files under their official names)
  replaces the official addresses;
- :mod:`mtrl.data.download_unpack`: :func:`~mtrl.data.download_unpack.unpack` checks a zip
  archive (``ZipFile.testzip``) and extracts members the same way;
- :mod:`mtrl.data.download_checks`: the content and checksum checks, and
  :class:`~mtrl.data.download_checks.DownloadError`, which every failure raises, naming the URL
  or file and what was expected; nothing half-written is left at a destination;
- :mod:`mtrl.data.download_settings`: the workflow side (rules/download.smk) reads its settings
  with :func:`~mtrl.data.download_settings.settings`, fetches a file with
  :func:`~mtrl.data.download_settings.fetch_official` (the exact size and sha256 from the config
  or the registry, else the registry's approximate size, checked), asks
  :func:`~mtrl.data.download_settings.targets` which files to fetch and
  :func:`~mtrl.data.download_settings.study_inputs` which of the files ``data.msd`` points at
  come from the download (rule ``prepare_data`` waits for those).

Every module logs to the logger ``mtrl.data.download``.
"""

from __future__ import annotations

from mtrl.data.download_checks import (
    APPROX_SIZE_FACTOR,
    CHUNK_BYTES,
    CONTENT_KINDS,
    MB,
    DownloadError,
    approx_size_bounds,
    check_approx_size,
    check_complete,
    check_content,
    check_signature,
    sha256_of,
    sidecar_path,
)
from mtrl.data.download_fetch import DEFAULT_TIMEOUT_S, download
from mtrl.data.download_registry import (
    ARCHIVES,
    BY_PATH_NAME,
    MSD_ADDITIONAL_FILES,
    REGISTRY,
    TAGTRAUM_GENRES,
    OfficialFile,
)
from mtrl.data.download_settings import Settings, fetch_official, settings, study_inputs, targets
from mtrl.data.download_unpack import unpack

__all__ = [
    "APPROX_SIZE_FACTOR",
    "ARCHIVES",
    "BY_PATH_NAME",
    "CHUNK_BYTES",
    "CONTENT_KINDS",
    "DEFAULT_TIMEOUT_S",
    "MB",
    "MSD_ADDITIONAL_FILES",
    "REGISTRY",
    "TAGTRAUM_GENRES",
    "DownloadError",
    "OfficialFile",
    "Settings",
    "approx_size_bounds",
    "check_approx_size",
    "check_complete",
    "check_content",
    "check_signature",
    "download",
    "fetch_official",
    "settings",
    "sha256_of",
    "sidecar_path",
    "study_inputs",
    "targets",
    "unpack",
]
