"""Route a job's Python logging, warnings and stdout/stderr to its Snakemake log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def logged_to(path: str | os.PathLike | None) -> Iterator[None]:
    """Send logging records and stdout/stderr to ``path`` (appending) for the duration."""
    if path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        yield
        return
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    with open(path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            with _fds_to(stream), contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
                try:
                    yield
                except BaseException:
                    logging.getLogger("mtrl").exception("job failed")
                    raise
        finally:
            root.removeHandler(handler)


@contextlib.contextmanager
def _fds_to(stream) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``stream`` too (messages of C++ libraries)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
