"""Parsed prepared-data files kept in this process, valid while their file is unchanged.

:func:`warm` reads a prepared-data file and keeps the parsed copy; :func:`cached_prepared` returns
that copy while the file is the same (same real path, inode, size and modification time), else
reads the file. A warm worker's server calls :func:`warm` before it forks a job
(``mtrl.worker.run(..., warm=("mtrl.data.cache:warm", {"path": ...}))``), so the job's fork
shares the parsed copy copy-on-write; changes a job makes stay in that job.

At most ``$MTRL_WORKER_CACHE`` files (default :data:`CACHE_ENTRIES`; 0: none) stay parsed, the
least recently warmed go first.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping

from mtrl.data.prepared import PreparedData, read_prepared

CACHE_ENTRIES = 2  # prepared-data files kept parsed when $MTRL_WORKER_CACHE is not set
CACHE_ENV = "MTRL_WORKER_CACHE"

_PREPARED: OrderedDict[tuple, PreparedData] = OrderedDict()


def cache_limit(environ: Mapping[str, str] | None = None) -> int:
    """How many parsed files :func:`warm` keeps (``$MTRL_WORKER_CACHE``, else :data:`CACHE_ENTRIES`)."""
    env = os.environ if environ is None else environ
    return int(env.get(CACHE_ENV) or CACHE_ENTRIES)


def _key(path: str | os.PathLike) -> tuple:
    """The entry of ``path``'s current version; raises :class:`OSError` if it is absent."""
    real = os.path.realpath(path)
    st = os.stat(real)
    return (real, st.st_ino, st.st_size, st.st_mtime_ns)


def is_cached(path: str | os.PathLike) -> bool:
    """Whether this process keeps a parsed copy of ``path`` as it is now."""
    try:
        return _key(path) in _PREPARED
    except OSError:
        return False


def cached_prepared(path: str | os.PathLike) -> PreparedData:
    """:func:`mtrl.data.prepared.read_prepared`, from the kept copy while ``path`` is unchanged."""
    try:
        data = _PREPARED.get(_key(path))
    except OSError:
        data = None
    return data if data is not None else read_prepared(path)


def warm(path: str | os.PathLike, limit: int | None = None) -> None:
    """Read ``path`` and keep the parsed copy (keep at most ``limit`` files, default :func:`cache_limit`).

    A kept older version of the same file goes; beyond ``limit`` the least recently warmed go.
    """
    limit = cache_limit() if limit is None else limit
    if limit <= 0:
        return
    key = _key(path)
    if key in _PREPARED:
        _PREPARED.move_to_end(key)
        return
    for old in [k for k in _PREPARED if k[0] == key[0]]:  # an older version of that file
        del _PREPARED[old]
    _PREPARED[key] = read_prepared(path)
    while len(_PREPARED) > limit:
        _PREPARED.popitem(last=False)


def clear() -> None:
    """Forget every kept copy."""
    _PREPARED.clear()
