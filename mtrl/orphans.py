"""A job that stops when the snakemake that started it is gone.

``kill -9`` of snakemake does not end its jobs: they are re-parented and train on, and a rerun
started at once trains the same runs beside them. :func:`watch_starter`, called first thing in a
Snakemake ``script:`` job, notes the chain of processes from this one up to the one that started
it, past the shells that may sit between them (Snakemake runs a script as ``bash -c "set -euo
pipefail; python script.py"``; bash usually replaces itself by the script, but not every shell
does), and starts a daemon thread that checks every ``interval`` seconds that each of those
processes still has the parent it had. When one does not, the starter has ended: the thread says
so on stderr and in the job's log and ends this process with :data:`ORPHANED_STATUS`. A job the
process handed to the warm worker ends with it (the worker kills the job of a client that went
away).

Not ``prctl(PR_SET_PDEATHSIG)``: it fires when the *thread* that started the process ends
(Snakemake starts jobs from a pool of threads) and it watches only the direct parent, which may
be a shell that outlives snakemake. Parents are read from ``/proc``; elsewhere only the direct
parent is watched.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"})
ORPHANED_STATUS = 3  # exit status of a job stopped because its starter has gone
DEFAULT_INTERVAL = 1.0  # seconds between checks

Link = tuple[int, int]  # (pid, the parent it had when the job started)


def parent_of(pid: int) -> int | None:
    """The parent pid of process ``pid`` (``None`` if it is gone or unreadable)."""
    if pid == os.getpid():
        return os.getppid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name, in (), may hold spaces
    return int(fields[1]) if len(fields) > 1 else None


def command_of(pid: int) -> str:
    """The command name of process ``pid`` (empty if unknown)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def starter_chain() -> list[Link]:
    """Links from this process up to the process that started it, past intermediate shells.

    The last link's parent is the starter.
    """
    chain = [(os.getpid(), os.getppid())]
    while command_of(chain[-1][1]) in SHELLS:
        shell = chain[-1][1]
        parent = parent_of(shell)
        if parent is None or parent <= 1:
            break
        chain.append((shell, parent))
    return chain


def orphaned(chain: list[Link]) -> bool:
    """Whether a process of ``chain`` has a parent other than the one it had (its starter ended)."""
    return any(parent_of(pid) != parent for pid, parent in chain)


def watch_starter(
    log: str | os.PathLike | None = None, interval: float = DEFAULT_INTERVAL
) -> threading.Thread | None:
    """End this process when the process that started it ends; return the watching thread.

    Nothing is watched (``None``) when the starter is already init (pid 1). The reason goes to
    stderr and, appended, to ``log``.
    """
    chain = starter_chain()
    starter = chain[-1][1]
    if starter <= 1:
        return None
    what = f"pid {starter}, {_cmdline(starter) or command_of(starter) or 'unknown command'}"
    thread = threading.Thread(target=_watch, args=(chain, what, log, interval), name="mtrl-starter-watch")
    thread.daemon = True
    thread.start()
    return thread


def _watch(chain: list[Link], what: str, log: str | os.PathLike | None, interval: float) -> None:
    while not orphaned(chain):
        time.sleep(interval)
    message = (
        f"mtrl: the process that started this job ({what}) has ended: stopping the job (exit status "
        f"{ORPHANED_STATUS}), so that a rerun cannot train its run twice at once\n"
    )
    with contextlib.suppress(Exception):
        sys.stderr.write(message)
        sys.stderr.flush()
    if log is not None:
        with contextlib.suppress(OSError), open(log, "a") as stream:
            stream.write(message)
    os._exit(ORPHANED_STATUS)


def _cmdline(pid: int, limit: int = 120) -> str:
    """The command line of process ``pid``, shortened to ``limit`` characters."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
