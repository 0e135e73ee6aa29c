"""Extract members of a downloaded zip archive, checked, and only once all of them passed.

:func:`unpack` tests the archive (``ZipFile.testzip``: every member's CRC), writes each member to
a temporary file beside its destination, checks its content kind and moves the files into place
only when every member extracted and passed. Every failure raises
:class:`~mtrl.data.download_checks.DownloadError` naming the archive; nothing half-written is left
at a destination.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from mtrl.data.download_checks import (
    CHUNK_BYTES,
    LOGGER_NAME,
    DownloadError,
    check_content,
    require_content_kind,
)
from mtrl.io import atomic_path

log = logging.getLogger(LOGGER_NAME)


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
    against ``content`` (when given, see :func:`~mtrl.data.download_checks.check_content`) and
    moved into place only when every member extracted and passed. Returns the paths written.
    Raises :class:`~mtrl.data.download_checks.DownloadError` for a missing or corrupt archive, a
    missing member or wrong content.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if content is not None:
        require_content_kind(content)
    zf = _open_zip(archive)
    with zf:
        _test_zip(zf, archive)
        files = [info for info in zf.infolist() if not info.is_dir()]
        chosen = files if members is None else [_member(archive, files, m) for m in members]
        targets = [dest_dir / _base_name(archive, info) for info in chosen]
        if len(set(targets)) < len(targets):
            raise DownloadError(
                f"{archive}: several members share a base name; cannot extract them side by side"
            )
        _extract(zf, archive, list(zip(chosen, targets, strict=True)), content)
    for target in targets:
        log.info("unpacked %s (%d bytes) from %s", target, target.stat().st_size, archive)
    return targets


def _open_zip(archive: Path) -> zipfile.ZipFile:
    if not archive.is_file():
        raise DownloadError(f"{archive}: zip archive not found")
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DownloadError(
            f"{archive}: not a valid zip archive ({err}); delete it and download it again"
        ) from None


def _test_zip(zf: zipfile.ZipFile, archive: Path) -> None:
    """Raise unless every member of ``zf`` passes its CRC check."""
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


def _extract(
    zf: zipfile.ZipFile,
    archive: Path,
    placed: list[tuple[zipfile.ZipInfo, Path]],
    content: str | None,
) -> None:
    """Write each member to its target; all move into place together, only once every one passed."""
    with contextlib.ExitStack() as stack:
        for info, target in placed:
            tmp = stack.enter_context(atomic_path(target))
            try:
                with zf.open(info) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK_BYTES)
            except (zipfile.BadZipFile, zlib.error, EOFError) as err:
                raise DownloadError(f"{archive}: cannot extract {info.filename!r} ({err})") from None
            if content is not None:
                check_content(tmp, content, what=f"{archive}: member {info.filename!r}")
        # leaving the stack moves every temporary file into place


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
