"""The workflow's view of the ``download`` config section: what to fetch, from where, for whom.

rules/download.smk reads its settings with :func:`settings`, asks :func:`targets` which files to
fetch and :func:`study_inputs` which of the files ``data.msd`` points at come from the download
(rule ``prepare_data`` waits for those); its script fetches each file with :func:`fetch_official`,
which checks what the registry and the config know of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mtrl.data.download_fetch import download
from mtrl.data.download_registry import BY_PATH_NAME, REGISTRY


@dataclass(frozen=True)
class Settings:
    """The ``download`` config section (names, pins and defaults checked by the config schema)."""

    enabled: bool
    dir: str
    files: tuple[str, ...]
    sha256: dict[str, str]
    timeout: float
    mirror: str | None = None
    sizes: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        """Where to fetch ``name``: its official address, or ``<mirror>/<name>``."""
        if self.mirror:
            return f"{self.mirror.rstrip('/')}/{name}"
        return REGISTRY[name].url

    def expected_size(self, name: str) -> int | None:
        """The exact byte count of ``name``: ``download.sizes``, else the registry's (None: unknown)."""
        return self.sizes.get(name, REGISTRY[name].size)

    def expected_sha256(self, name: str) -> str | None:
        """The sha256 of ``name``: ``download.sha256``, else the registry's (None: unknown)."""
        pinned = self.sha256.get(name, REGISTRY[name].sha256)
        return pinned.lower() if pinned else None

    def approx_size(self, name: str) -> int | None:
        """The registry's rough size of ``name`` in bytes; None where its exact size or sha256 is known."""
        if self.expected_size(name) is not None or self.expected_sha256(name) is not None:
            return None
        return REGISTRY[name].approx_bytes


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
        sizes={name: int(size) for name, size in section["sizes"].items()},
    )


def fetch_official(config: Mapping[str, Any], name: str, dest: str | os.PathLike) -> str:
    """Download the official file ``name`` to ``dest`` with every check known for it; return its sha256.

    The exact size and sha256 come from the config (``download.sizes``, ``download.sha256``) or
    the registry; where neither is known the registry's approximate size is checked (see
    :class:`~mtrl.data.download_registry.OfficialFile`). The content must be of the registry's
    kind and read as a whole (see :func:`~mtrl.data.download_fetch.download`).
    """
    s = settings(config)
    return download(
        s.url(name),
        dest,
        expected_size=s.expected_size(name),
        sha256=s.expected_sha256(name),
        timeout=s.timeout,
        kind=REGISTRY[name].kind,
        approx_size=s.approx_size(name),
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
