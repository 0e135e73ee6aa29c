"""The calls a server makes: a request's warm-up (in the server) and its job (in the forked child)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Iterator
from typing import Any

from mtrl.logs import logged_to
from mtrl.worker.protocol import resolve

_log = logging.getLogger("mtrl.worker")


def warm_up(warm: Any, cwd: str | None) -> None:
    """Call a request's warm-up ``{"target", "kwargs"}`` in this process, from the directory ``cwd``.

    What it keeps in module state, a job forked afterwards inherits. Its errors are logged and
    ignored: the job then does that work itself.
    """
    if not warm:
        return
    t0 = time.perf_counter()
    try:
        target = warm["target"]
        with working_directory(cwd or "."):
            resolve(target)(**(warm.get("kwargs") or {}))
    except Exception as err:
        _log.warning("warm-up %r failed (the job does that work itself): %r", warm, err)
        return
    _log.info("warm-up %s took %.2f s", target, time.perf_counter() - t0)


@contextlib.contextmanager
def working_directory(path: str | os.PathLike) -> Iterator[None]:
    """Change into ``path`` for the duration (back by a descriptor: the old folder needs no name)."""
    back = os.open(".", os.O_RDONLY)
    try:
        os.chdir(path)
        yield
    finally:
        os.fchdir(back)
        os.close(back)


def call_logged(target: str, kwargs: dict[str, Any], log_path: str | None) -> int:
    """Run the call inside ``logged_to(log_path)``; return the exit code a process would have."""
    try:
        with logged_to(log_path):
            _log.info("running %s in warm worker child %d (server %d)", target, os.getpid(), os.getppid())
            resolve(target)(**kwargs)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return 1
    except BaseException:
        if log_path is None:
            traceback.print_exc()
        return 1
    return 0
