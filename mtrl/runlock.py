"""One training job per run at a time: an exclusive lock file in the run's output folder.

A snakemake killed with ``kill -9`` leaves its jobs running. A rerun started at once, a second
snakemake writing the same results folder, or a Slurm job that the killed snakemake had submitted
would then train the same run twice at once, two processes writing the same outputs.
:func:`run_lock` holds an exclusive :func:`fcntl.flock` on ``<run folder>/.train.lock`` for the
whole job. A second job of the same run waits (an orphaned local job stops within seconds, see
:mod:`mtrl.orphans`); if the lock is still held after ``wait`` seconds it stops with
:class:`RunLockedError`, naming the run and the holder's pid and host, rather than wait for a
job that may train for hours and then train the run once more.

The kernel releases the lock when its holder ends, however it ends, so a killed job leaves no
stale lock; the holder removes the file when it is done. On a file system without locks, the
job trains unlocked with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

_log = logging.getLogger("mtrl.runlock")

LOCK_NAME = ".train.lock"
DEFAULT_WAIT = 60.0  # seconds a job waits for another job of its run before it stops
POLL_INTERVAL = 0.2  # seconds between tries


class RunLockedError(RuntimeError):
    """Another job held the run's lock for longer than the job would wait."""


def lock_path(run_dir: str | os.PathLike) -> Path:
    """The lock file of the run whose outputs are in ``run_dir``."""
    return Path(run_dir) / LOCK_NAME


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, wait: float | None = None) -> Iterator[Path]:
    """Hold the lock of the run in ``run_dir`` for the duration; yield the lock file's path.

    Waits up to ``wait`` seconds (default :data:`DEFAULT_WAIT`) for another holder, then raises
    :class:`RunLockedError`.
    """
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, Path(run_dir), DEFAULT_WAIT if wait is None else wait)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held: a waiter finds it gone and locks a new file
        os.close(fd)


def _acquire(path: Path, run_dir: Path, wait: float) -> int:
    """A descriptor of ``path`` that holds its exclusive lock (see :func:`run_lock`)."""
    deadline = time.monotonic() + wait
    waiting = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                raise RunLockedError(_locked_message(run_dir, holder, path, wait)) from None
            if not waiting:
                _log.warning("run %s is being trained by %s: waiting up to %.0f s", run_dir, holder, wait)
                waiting = True
            time.sleep(POLL_INTERVAL)
            continue
        except OSError as err:  # e.g. ENOLCK: a file system without locks
            _log.warning("cannot lock %s (%s): training run %s without its lock", path, err, run_dir)
            return fd
        if _names(path, fd):
            _record_holder(fd)
            return fd
        os.close(fd)  # its holder removed that file as it finished: lock the new one


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _record_holder(fd: int) -> None:
    """Write who holds the lock into the lock file (for the message of a job that waits)."""
    since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    with contextlib.suppress(OSError):  # a full disk must not stop the job: the lock holds anyway
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode(), 0)


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it."""
    with contextlib.suppress(OSError):
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if text:
            return text
    return "another process"


def _locked_message(run_dir: Path, holder: str, path: Path, wait: float) -> str:
    return (
        f"run {run_dir} is already being trained by {holder} (lock file {path}; waited {wait:.0f} s). "
        "It is probably a job left running by a killed snakemake, or a second snakemake writing the "
        "same results folder: let it finish or kill that process, then rerun."
    )
