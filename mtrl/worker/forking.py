"""Forking jobs safely: whether this process may fork, the fork itself, and the child's new life.

A fork copies only the calling thread, so the server must have one OS thread when it forks, and
no backend that has set up devices (a child would inherit a half-usable copy). The server's
termination signals are held back across the fork until the child has reset their handlers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

from mtrl.runtime import backend_initialised

END_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # end a server (cleanly)
_PR_SET_PDEATHSIG = 1


def os_threads() -> int:
    """Threads of this process (the server must have only one when it forks)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def fork_hazard(backend: str) -> str | None:
    """Why this process may not fork safely now, or ``None`` if it may."""
    threads = os_threads()
    if threads != 1:
        return f"{threads} threads"
    if backend_initialised(backend):
        return f"an initialised {backend} backend"
    return None


def fork() -> tuple[int, set[signal.Signals]]:
    """Fork with the end signals held back; return ``(pid, mask)`` (``pid`` 0 in the child).

    The parent's mask is restored at once; the child keeps the signals held until
    :func:`become_job` has reset their handlers (the server's handler must never run in a
    child: it would clean up the server's socket). Raises :class:`OSError` if the fork failed.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, END_SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pid, mask


def become_job(server: int, mask: set[signal.Signals]) -> None:
    """In a forked child: default signal handlers, its own process group, death with the server."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending SIGTERM ends it here
    os.setsid()  # its own process group: killed as a whole if the client goes away
    _die_with_parent()
    if os.getppid() != server:  # the server died before the line above
        os._exit(1)


def killpg(pid: int, sig: int) -> None:
    """Signal the job's process group, or the job alone if it has not made its group yet."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def _die_with_parent() -> None:
    """Have the kernel SIGTERM this process when the server dies (Linux; else nothing)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
