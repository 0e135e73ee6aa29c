"""The client side of the warm worker: hand a call to a server (starting one if needed), or run it here.

A client connects to the socket of its :func:`~mtrl.worker.keys.server_key` in :func:`worker_dir`;
if none answers it starts ``python -m mtrl.worker serve ...`` (one per key: a lock file makes
concurrent clients wait for the first one's server). When no server can take the job, the call
runs in the client's own process.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtrl.logs import logged_to
from mtrl.runtime import configure
from mtrl.worker.keys import PACKAGE_ROOT, host, package_fingerprint, server_key
from mtrl.worker.protocol import encode, job_request, read_message, resolve

_log = logging.getLogger("mtrl.worker")

OFF = frozenset({"0", "off", "false", "no"})
ON = frozenset({"1", "on", "true", "yes"})
START_TIMEOUT = 60.0  # seconds a client waits for a server it started
SOCKET_PATH_MAX = 107  # bytes of an AF_UNIX path (sun_path is 108 bytes with its NUL)
CONNECT_TRIES = 3  # a server may close between connect and accept (idle exit, stop)


class WorkerJobError(RuntimeError):
    """A job run by the warm worker failed (its traceback is in the job's log)."""


class _Unavailable(Exception):
    """No server could take the request: the caller runs it in its own process."""


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether :func:`run` uses a warm worker (``MTRL_WORKER``; off by default inside Slurm jobs)."""
    env = os.environ if environ is None else environ
    value = env.get("MTRL_WORKER", "").strip().lower()
    if value in OFF or not hasattr(os, "fork"):
        return False
    if value in ON:
        return True
    return not env.get("SLURM_JOB_ID")


def run(
    target: str,
    kwargs: dict[str, Any],
    *,
    log: str | None,
    backend: str,
    threads: int,
    preload: Sequence[str] = (),
    warm: tuple[str, dict[str, Any]] | None = None,
) -> None:
    """Call ``target`` ("module:function") with ``kwargs``, logging to ``log``, as if in a fresh process.

    Through a warm worker when :func:`enabled` and ``threads`` is 1 (starting one if needed,
    which imports the backend's Keras and the modules ``preload``); else, or when no server can
    take the request, in this process (configure the backend first). ``warm``, a ``(target,
    kwargs)`` pair, is called by the server in its own process, from the current directory,
    before it forks the job (the job inherits what it kept; its errors are only logged; never
    called outside a server). ``kwargs`` must be JSON-serialisable; relative paths are resolved
    from the current directory. Call it before anything in this process has imported Keras.
    Raises :class:`WorkerJobError` if the job failed in the worker.
    """
    request = job_request(target, kwargs, log, os.getcwd(), warm)
    payload = encode(request)  # TypeError now if not serialisable
    if not enabled() or int(threads) > 1:
        # With more than one thread, NumPy's BLAS starts its threads at import: a server could
        # not fork safely, so such jobs run in their own process.
        _run_here(target, kwargs, log, backend, threads)
        return
    try:
        status, server_log = _run_in_server(payload, backend, threads, tuple(preload))
    except _Unavailable as err:
        _run_here(target, kwargs, log, backend, threads, note=f"warm worker unavailable: {err}")
        return
    if status != 0:
        where = log if log is not None else server_log
        raise WorkerJobError(f"{target} failed in the warm worker (exit status {status}); see {where}")


def _run_here(
    target: str, kwargs: dict[str, Any], log_path: str | None, backend: str, threads: int, note: str = ""
) -> None:
    """Run the call in this process, like a job without a warm worker."""
    configure(backend, threads)
    with logged_to(log_path):
        if note:
            _log.warning("%s; running in this process", note)
        resolve(target)(**kwargs)


def worker_dir(create: bool = True) -> Path:
    """Folder of this user's sockets, locks and server logs (created with mode 0700).

    ``$MTRL_WORKER_DIR``, else ``<tmp>/mtrl-worker-<uid>`` (``/tmp/...`` if that is too long for a
    socket path). Raises :class:`PermissionError` if it belongs to another user or others may
    write to it (they could plant a socket).
    """
    uid = os.getuid()
    chosen = os.environ.get("MTRL_WORKER_DIR")
    if chosen:
        path = Path(chosen)
    else:
        path = Path(tempfile.gettempdir()) / f"mtrl-worker-{uid}"
        if len(os.fsencode(path)) + 24 > SOCKET_PATH_MAX:
            path = Path("/tmp") / f"mtrl-worker-{uid}"
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not path.exists():
        return path
    st = path.lstat()
    if path.is_symlink() or not path.is_dir() or st.st_uid != uid or st.st_mode & 0o022:
        raise PermissionError(f"{path} must be a directory of user {uid} that others cannot write to")
    return path


def _prune(directory: Path, age: float = 86400.0) -> None:
    """Remove the log files of servers gone for more than ``age`` seconds.

    Lock files stay (a few bytes each): removing one that a client holds would let a second
    client lock a new file and start a second server.
    """
    limit = time.time() - age
    for path in directory.iterdir():
        with contextlib.suppress(OSError):
            gone = path.suffix == ".log" and not path.with_suffix(".sock").exists()
            if gone and path.stat().st_mtime < limit:
                path.unlink()


def _socket_path(directory: Path, key: str) -> Path:
    path = directory / f"{key}.sock"
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise _Unavailable(f"socket path {path} is longer than {SOCKET_PATH_MAX} bytes")
    return path


def _connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        sock.close()
        return None
    return sock


def _run_in_server(
    payload: bytes, backend: str, threads: int, preload: tuple[str, ...]
) -> tuple[int | None, Path]:
    """Send the request to a server (starting one if needed); return the job's exit status."""
    try:
        directory = worker_dir()
    except OSError as err:
        raise _Unavailable(str(err)) from err
    key = server_key(backend, threads, preload)
    path = _socket_path(directory, key)
    server_log = directory / f"{key}.log"
    for _ in range(CONNECT_TRIES):
        try:
            sock = _connect(path) or _start_server(directory, key, path, backend, threads, preload)
        except OSError as err:
            raise _Unavailable(f"cannot start a server: {err}") from err
        with sock, sock.makefile("rb") as replies:
            try:
                sock.sendall(payload)
                ack = read_message(replies)
            except OSError:
                ack = None
            if not ack:
                continue
            if not ack.get("accepted"):
                raise _Unavailable(f"server refused the job: {ack.get('error')}")
            try:
                result = read_message(replies)
            except OSError:
                result = None
            if result is None:
                raise WorkerJobError(
                    f"the warm worker (pid {ack.get('server')}) ended while it ran the job; see {server_log}"
                )
            return result.get("status"), server_log
    raise _Unavailable(f"server {path} closed the connection before taking the job")


def _start_server(
    directory: Path, key: str, path: Path, backend: str, threads: int, preload: tuple[str, ...]
) -> socket.socket:
    """Start the server of ``key`` unless another client did; return a connection to it.

    A lock file makes concurrent clients start only one server.
    """
    with open(directory / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _connect(path)
        if sock is not None:
            return sock
        _prune(directory)
        command = [sys.executable, "-m", "mtrl.worker", "serve", "--socket", os.fspath(path)]
        command += ["--key", key, "--backend", backend, "--threads", str(threads)]
        command += ["--fingerprint", package_fingerprint(), "--preload", *preload]
        proc = _spawn(command, directory, directory / f"{key}.log")
        return _wait_for_server(proc, path, directory / f"{key}.log")


def _spawn(command: list[str], directory: Path, log_path: Path) -> subprocess.Popen:
    """Start the server process in its own session, logging to ``log_path``."""
    env = dict(os.environ)
    root = os.fspath(PACKAGE_ROOT.parent)  # the server imports this very mtrl
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with open(log_path, "a") as server_log:
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=directory,
                start_new_session=True,  # not killed with the job that started it
            )
        except OSError as err:
            raise _Unavailable(f"cannot start a server: {err}") from err


def _wait_for_server(proc: subprocess.Popen, path: Path, log_path: Path) -> socket.socket:
    """A connection to the server ``proc`` once it listens on ``path``."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        sock = _connect(path)
        if sock is not None:
            return sock
        if proc.poll() is not None:
            raise _Unavailable(f"server exited with status {proc.returncode}; see {log_path}")
        time.sleep(0.05)
    proc.kill()
    raise _Unavailable(f"server did not start within {START_TIMEOUT:.0f} s")


def stop(now: bool = False) -> list[int]:
    """Ask every server of this user (in :func:`worker_dir`) to exit; return their pids.

    A server stops taking jobs at once and exits when its running jobs have ended, or, with
    ``now``, kills them first. Sockets that no server answers are removed.
    """
    pids = []
    directory = worker_dir(create=False)
    if not directory.is_dir():
        return pids
    for path in sorted(directory.glob(f"{host()}-*.sock")):  # other machines' servers stay
        pid = _ask_to_stop(path, now)
        if pid is not None:
            pids.append(pid)
    return pids


def _ask_to_stop(path: Path, now: bool) -> int | None:
    """Send a stop to the server of ``path``; its pid, or ``None`` (a dead socket is removed)."""
    sock = _connect(path)
    if sock is None:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with sock, sock.makefile("rb") as replies:
        try:
            sock.sendall(encode({"stop": True, "now": now}))
            reply = read_message(replies)
        except OSError:
            reply = None
    return int(reply["server"]) if reply and "server" in reply else None
