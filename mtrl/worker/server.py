"""Warm worker: run jobs in forks of a process that has already imported Keras.

Every Snakemake job is a fresh Python process that spends seconds importing Keras and its
backend before a few seconds of training. :func:`run` instead hands the call to a long-lived
server process of the same machine and user that imported the framework once; for every job the
server forks a fresh child that runs the call and exits. The parent never builds a model nor
initialises a backend (its JAX has no backend yet, its threads are only the main thread), so the
child starts from the state a fresh process has after the imports, and sets its own seeds.

Protocol (one JSON line each way over a Unix socket): the client sends ``{"target", "kwargs",
"log", "cwd"}``; the server answers ``{"accepted": true, "pid": child}`` once it has forked, then
``{"status": exit code}`` when the child has ended. If the client goes away first (killed by
Snakemake, Ctrl-C, ``kill -9``), the server kills the child's process group.

Servers are keyed by backend, threads, interpreter, the mtrl sources (paths, sizes and mtimes,
so edited code never runs in a stale server) and the environment variables that shape the
frameworks. They live in ``$MTRL_WORKER_DIR`` (default ``<tmp>/mtrl-worker-<uid>``) and exit after
``$MTRL_WORKER_IDLE`` seconds (default 120) without a job. ``MTRL_WORKER=off`` (or running inside
a Slurm job, unless ``MTRL_WORKER=on``) runs every call in the calling process instead.

Command line: ``python -m mtrl.worker serve ...`` (started by :func:`run`) and
``python -m mtrl.worker stop [--now]`` (stop this user's servers).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import gc
import hashlib
import importlib
import json
import logging
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtrl.logs import logged_to
from mtrl.runtime import configure

_log = logging.getLogger("mtrl.worker")

OFF = frozenset({"0", "off", "false", "no"})
ON = frozenset({"1", "on", "true", "yes"})
# Environment variables that change how the frameworks behave: a server serves only clients
# that agree on all of them (the backend and thread count are part of the key anyway).
KEY_ENV = (
    "CUDA_VISIBLE_DEVICES",
    "SLURM_JOB_GPUS",
    "JAX_PLATFORMS",
    "JAX_ENABLE_X64",
    "JAX_COMPILATION_CACHE_DIR",
    "XLA_FLAGS",
    "MTRL_CACHE_DIR",
    "KERAS_HOME",
    "HOME",
    "PYTHONPATH",
    "LD_LIBRARY_PATH",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
# ... and every variable with one of these prefixes (oneDNN/MKL/OpenMP/PyTorch/TF/JAX knobs)
KEY_ENV_PREFIXES = (
    "ONEDNN_",
    "DNNL_",
    "MKL_",
    "KMP_",
    "OMP_",
    "TORCH_",
    "PYTORCH_",
    "TF_",
    "JAX_",
    "XLA_",
    "CUBLAS_",
    "CUDA_",
    "NVIDIA_",
)
DEFAULT_IDLE = 120.0  # seconds a server waits for the next job before it exits
START_TIMEOUT = 60.0  # seconds a client waits for a server it started
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL of an abandoned job
CACHE_ENTRIES = 2  # prepared-data files a server keeps parsed (MTRL_WORKER_CACHE; 0: none)
SOCKET_PATH_MAX = 107  # bytes of an AF_UNIX path (sun_path is 108 bytes with its NUL)
PACKAGE_ROOT = Path(__file__).resolve().parent  # the mtrl package
_PR_SET_PDEATHSIG = 1
_END_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}  # end a server (cleanly)


class WorkerJobError(RuntimeError):
    """A job run by the warm worker failed (its traceback is in the job's log)."""


class _Unavailable(Exception):
    """No server could take the request: the caller runs it in its own process."""


# ---------------------------------------------------------------------------------------------
# Client side


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
    preload: Sequence[str] = ("mtrl.train",),
) -> None:
    """Call ``target`` ("module:function") with ``kwargs``, logging to ``log``, as if in a fresh process.

    Through a warm worker when :func:`enabled` and ``threads`` is 1 (starting one if needed);
    else, or when no server can take the request, in this process (configure the backend
    first). ``kwargs`` must be JSON-serialisable; relative paths are resolved from the current
    directory. Call it before anything in this process has imported Keras. Raises
    :class:`WorkerJobError` if the job failed in the worker.
    """
    _split_target(target)
    request = {"target": target, "kwargs": kwargs, "log": log, "cwd": os.getcwd()}
    payload = (json.dumps(request) + "\n").encode()  # TypeError now if not serialisable
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
        _resolve(target)(**kwargs)


def _split_target(target: str) -> tuple[str, str]:
    module, sep, name = target.partition(":")
    if not (module and sep and name):
        raise ValueError(f"target {target!r} is not of the form 'module:function'")
    return module, name


def _resolve(target: str) -> Callable[..., Any]:
    module, name = _split_target(target)
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def package_fingerprint(root: str | os.PathLike = PACKAGE_ROOT) -> str:
    """Hash of the path, size and modification time of every ``*.py`` file under ``root``."""
    root = Path(root)
    h = hashlib.sha256(str(root).encode())
    for path in sorted(root.rglob("*.py")):
        with contextlib.suppress(OSError):  # deleted meanwhile
            st = path.stat()
            h.update(f"\0{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def server_key(backend: str, threads: int, preload: Sequence[str] = ("mtrl.train",)) -> str:
    """The short key of the server that may run jobs of this process with these settings."""
    parts = {
        "backend": backend,
        "threads": int(threads),
        "python": sys.executable,
        "package": package_fingerprint(),
        "preload": list(preload),
        "env": {name: os.environ.get(name) for name in KEY_ENV},
        "env_prefixed": {k: v for k, v in os.environ.items() if k.startswith(KEY_ENV_PREFIXES)},
        "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED"),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return f"{_host()}-{digest}"


def _host() -> str:
    """This machine's short name, in every socket name: a shared (NFS) worker folder never
    mixes the servers of different machines."""
    name = socket.gethostname().split(".")[0] or "host"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:20]


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
    for _ in range(3):  # a server may close between connect and accept (idle exit, stop)
        try:
            sock = _connect(path) or _start_server(directory, key, path, backend, threads, preload)
        except OSError as err:
            raise _Unavailable(f"cannot start a server: {err}") from err
        with sock, sock.makefile("rb") as replies:
            try:
                sock.sendall(payload)
                ack = _read_message(replies)
            except OSError:
                ack = None
            if not ack:
                continue
            if not ack.get("accepted"):
                raise _Unavailable(f"server refused the job: {ack.get('error')}")
            try:
                result = _read_message(replies)
            except OSError:
                result = None
            if result is None:
                raise WorkerJobError(
                    f"the warm worker (pid {ack.get('server')}) ended while it ran the job; see {server_log}"
                )
            return result.get("status"), server_log
    raise _Unavailable(f"server {path} closed the connection before taking the job")


def _read_message(stream) -> dict[str, Any] | None:
    line = stream.readline()
    return json.loads(line) if line.endswith(b"\n") else None


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
        env = dict(os.environ)
        root = os.fspath(PACKAGE_ROOT.parent)  # the server imports this very mtrl
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "mtrl.worker", "serve", "--socket", os.fspath(path)]
        command += ["--key", key, "--backend", backend, "--threads", str(threads)]
        command += ["--fingerprint", package_fingerprint(), "--preload", *preload]
        with open(directory / f"{key}.log", "a") as server_log:
            try:
                proc = subprocess.Popen(
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
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            sock = _connect(path)
            if sock is not None:
                return sock
            if proc.poll() is not None:
                raise _Unavailable(
                    f"server exited with status {proc.returncode}; see {directory / f'{key}.log'}"
                )
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
    for path in sorted(directory.glob(f"{_host()}-*.sock")):  # other machines' servers stay
        sock = _connect(path)
        if sock is None:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        with sock, sock.makefile("rb") as replies:
            try:
                sock.sendall((json.dumps({"stop": True, "now": now}) + "\n").encode())
                reply = _read_message(replies)
            except OSError:
                reply = None
        if reply and "server" in reply:
            pids.append(int(reply["server"]))
    return pids


# ---------------------------------------------------------------------------------------------
# Prepared-data cache: parsed in the server before forking, inherited copy-on-write

_PREPARED: OrderedDict[tuple, Any] = OrderedDict()


def _prepared_key(path: str | os.PathLike) -> tuple:
    real = os.path.realpath(path)
    st = os.stat(real)
    return (real, st.st_ino, st.st_size, st.st_mtime_ns)


def cached_prepared(path: str | os.PathLike):
    """:func:`mtrl.data.prepared.read_prepared`, from the warm worker's copy when it has one.

    In a job forked by a warm worker, the data the server read before forking (its request's
    ``data_path``) is shared copy-on-write; changes the job makes stay in the job.
    """
    from mtrl.data.prepared import read_prepared

    with contextlib.suppress(OSError):
        data = _PREPARED.get(_prepared_key(path))
        if data is not None:
            return data
    return read_prepared(path)


def _cache_prepared(path: str, limit: int) -> None:
    """Read ``path`` into the server's cache (the least recently used entries beyond ``limit`` go)."""
    from mtrl.data.prepared import read_prepared

    key = _prepared_key(path)
    if key in _PREPARED:
        _PREPARED.move_to_end(key)
        return
    for old in [k for k in _PREPARED if k[0] == key[0]]:  # an older version of that file
        del _PREPARED[old]
    _PREPARED[key] = read_prepared(path)
    while len(_PREPARED) > limit:
        _PREPARED.popitem(last=False)


# ---------------------------------------------------------------------------------------------
# Server side


def _os_threads() -> int:
    """Threads of this process (the server must have only one when it forks)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def _backend_initialised(backend: str) -> bool:
    """Whether the backend has set up devices (a child would inherit a half-usable copy)."""
    if backend == "jax" and "jax" in sys.modules:
        from jax._src import xla_bridge

        check = getattr(xla_bridge, "backends_are_initialized", None)
        return bool(check()) if check else bool(getattr(xla_bridge, "_backends", None))
    if backend == "torch" and "torch" in sys.modules:
        import torch

        return bool(torch.cuda.is_initialized())
    return False


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytes = b""
    pid: int | None = None  # the job's child
    pidfd: int | None = None
    kill_at: float | None = None  # when to SIGKILL the abandoned child
    client_gone: bool = False
    started: float = field(default_factory=time.monotonic)


class _Server:
    """The single-threaded accept/fork/wait loop (forking from a one-thread process is safe)."""

    def __init__(self, path: Path, fingerprint: str, backend: str, idle: float, cache: int) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.backend = backend
        self.idle = idle
        self.cache = cache
        self.sel = selectors.DefaultSelector()
        self.conns: dict[int, _Conn] = {}  # by socket fd
        self.children: dict[int, _Conn] = {}  # by pid
        self.listener: socket.socket | None = None
        self.inode: int | None = None
        self.stopping = False
        self.last_active = time.monotonic()
        self.last_check = time.monotonic()

    def listen(self) -> None:
        """Bind a temporary name, then rename it over the socket path (atomic for clients)."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(os.fspath(tmp))
        os.chmod(tmp, 0o600)
        listener.listen(64)
        listener.setblocking(False)
        os.rename(tmp, self.path)
        self.inode = self.path.stat().st_ino
        self.listener = listener
        self.sel.register(listener, selectors.EVENT_READ, "accept")

    def close_listener(self) -> None:
        """Stop taking connections and remove the socket file if it is still this server's."""
        if self.listener is None:
            return
        self.sel.unregister(self.listener)
        self.listener.close()
        self.listener = None
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self.inode:
                self.path.unlink()

    def serve(self) -> None:
        """Run until idle, stopped or stale; kill the running jobs if interrupted."""
        try:
            while True:
                idle = time.monotonic() - self.last_active > self.idle
                if not self.children and not self.conns and (self.stopping or idle):
                    _log.info("exiting (%s)", "stopped" if self.stopping else "idle")
                    return
                self._maintain()
                for key, _ in self.sel.select(self._timeout()):
                    try:
                        if key.data == "accept":
                            self._accept()
                        elif key.data == "client":
                            self._on_client(key.fileobj)
                        else:
                            self._on_child(key.data)
                    except Exception:  # one connection's trouble must not end the others' jobs
                        _log.exception("error while handling %s", key.data)
        finally:
            self.close_listener()
            self._kill_all()

    def _timeout(self) -> float:
        timeout = 1.0
        for conn in self.children.values():
            if conn.pidfd is None:
                timeout = 0.05  # no pidfd: poll
            if conn.kill_at is not None:
                timeout = min(timeout, max(0.0, conn.kill_at - time.monotonic()))
        return timeout

    def _maintain(self) -> None:
        now = time.monotonic()
        for pid, conn in list(self.children.items()):
            if conn.kill_at is not None and now >= conn.kill_at:
                _killpg(pid, signal.SIGKILL)
                conn.kill_at = None
            if conn.pidfd is None:
                self._reap(pid, block=False)
        if now - self.last_check > 5.0 and self.listener is not None:
            self.last_check = now
            if package_fingerprint() != self.fingerprint:
                _log.info("the mtrl sources changed: taking no more jobs")
                self.stopping = True
                self.close_listener()

    def _accept(self) -> None:
        if self.listener is None:  # closed by an earlier event of the same batch
            return
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            sock.close()
            return
        sock.settimeout(10.0)  # for sends; recv only runs when readable
        self.conns[sock.fileno()] = _Conn(sock)
        self.sel.register(sock, selectors.EVENT_READ, "client")
        self.last_active = time.monotonic()

    def _on_client(self, sock: socket.socket) -> None:
        conn = self.conns.get(sock.fileno())
        if conn is None:  # dropped by an earlier event of the same batch
            return
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if conn.pid is not None:  # the job runs: anything but data means the client went away
            if not data:
                self._abandon(conn)
            return
        if not data:
            self._drop(conn)
            return
        conn.buffer += data
        if b"\n" not in conn.buffer:
            return
        try:
            request = json.loads(conn.buffer.partition(b"\n")[0])
        except ValueError:
            self._drop(conn)
            return
        if request.get("stop"):
            self._send(conn, {"stopping": True, "server": os.getpid()})
            self._drop(conn)
            self.stopping = True
            self.close_listener()
            if request.get("now"):
                self._kill_all(wait=False)
            return
        self._start_job(conn, request)

    def _start_job(self, conn: _Conn, request: dict[str, Any]) -> None:
        if self.stopping:
            self._send(conn, {"accepted": False, "error": "server is stopping"})
            self._drop(conn)
            return
        data_path = (request.get("kwargs") or {}).get("data_path")
        if self.cache and isinstance(data_path, str):
            try:
                _cache_prepared(os.path.join(request.get("cwd") or ".", data_path), self.cache)
            except Exception as err:  # the job reads it itself and reports any error
                _log.info("not caching %s: %s", data_path, err)
        threads = _os_threads()
        if threads != 1 or _backend_initialised(self.backend):
            error = f"server has {threads} threads or an initialised backend: unsafe to fork"
            _log.error("%s; taking no more jobs", error)
            self._send(conn, {"accepted": False, "error": error})
            self._drop(conn)
            self.stopping = True
            self.close_listener()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        server = os.getpid()
        # Hold back termination signals until the child has reset their handlers: the server's
        # handler must never run in a child (it would clean up the server's socket).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _END_SIGNALS)
        try:
            pid = os.fork()
        except OSError as err:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self._send(conn, {"accepted": False, "error": f"cannot fork: {err}"})
            self._drop(conn)
            return
        if pid == 0:
            self._child(conn, request, server, mask)  # never returns
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        conn.pid = pid
        self.children[pid] = conn
        try:
            conn.pidfd = os.pidfd_open(pid)
            self.sel.register(conn.pidfd, selectors.EVENT_READ, pid)
        except (AttributeError, OSError):
            conn.pidfd = None  # polled by _maintain
        _log.info("job %s: child %d for %s", request.get("target"), pid, request.get("log"))
        if not self._send(conn, {"accepted": True, "pid": pid, "server": os.getpid()}):
            self._abandon(conn)

    def _child(self, conn: _Conn, request: dict[str, Any], server: int, mask: set[signal.Signals]) -> None:
        """In the forked child: drop the server's sockets, become a fresh job process, run, exit."""
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending SIGTERM ends it here
            os.setsid()  # its own process group: killed as a whole if the client goes away
            _die_with_parent()
            if os.getppid() != server:
                os._exit(1)
            with contextlib.suppress(Exception):
                self.sel.close()
            if self.listener is not None:
                self.listener.close()
            for other in self.conns.values():
                other.sock.close()
                if other.pidfd is not None:
                    os.close(other.pidfd)
            logging.getLogger().handlers.clear()  # the server's stderr handler
            sys.argv = sys.argv[:1]  # not the server's options
            os.chdir(request.get("cwd") or ".")
            code = _call_logged(request["target"], request.get("kwargs") or {}, request.get("log"))
        except BaseException:
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _on_child(self, pid: int) -> None:
        if pid in self.children:  # else reaped by an earlier event of the same batch
            self._reap(pid, block=True)

    def _reap(self, pid: int, block: bool) -> None:
        try:
            done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 255 << 8
        if done == 0:
            return
        conn = self.children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if conn.pidfd is not None:
            self.sel.unregister(conn.pidfd)
            os.close(conn.pidfd)
        _log.info("child %d ended with status %d after %.1f s", pid, code, time.monotonic() - conn.started)
        if not conn.client_gone:
            self._send(conn, {"status": code})
            self._drop(conn)
        self.last_active = time.monotonic()

    def _abandon(self, conn: _Conn) -> None:
        """The client went away: stop its job (SIGTERM, SIGKILL after a grace period)."""
        _log.info("client of child %d went away: killing it", conn.pid)
        self._drop(conn)
        conn.client_gone = True
        if conn.pid in self.children:
            _killpg(conn.pid, signal.SIGTERM)
            conn.kill_at = time.monotonic() + KILL_GRACE

    def _send(self, conn: _Conn, message: dict[str, Any]) -> bool:
        try:
            conn.sock.sendall((json.dumps(message) + "\n").encode())
        except OSError:
            return False
        return True

    def _drop(self, conn: _Conn) -> None:
        fd = conn.sock.fileno()
        if fd >= 0 and self.conns.pop(fd, None) is not None:
            self.sel.unregister(conn.sock)
        conn.sock.close()

    def _kill_all(self, wait: bool = True) -> None:
        """SIGTERM every running job; with ``wait``, SIGKILL those alive after the grace period."""
        for pid, conn in self.children.items():
            _killpg(pid, signal.SIGTERM)
            conn.kill_at = time.monotonic() + KILL_GRACE
        if not wait:
            return
        deadline = time.monotonic() + KILL_GRACE
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                self._reap(pid, block=False)
            time.sleep(0.05)
        for pid in list(self.children):
            _killpg(pid, signal.SIGKILL)
            self._reap(pid, block=True)


def _killpg(pid: int, sig: int) -> None:
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


def _call_logged(target: str, kwargs: dict[str, Any], log_path: str | None) -> int:
    """Run the call inside ``logged_to(log_path)``; return the exit code a process would have."""
    try:
        with logged_to(log_path):
            _log.info("running %s in warm worker child %d (server %d)", target, os.getpid(), os.getppid())
            _resolve(target)(**kwargs)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        return 1
    except BaseException:
        if log_path is None:
            traceback.print_exc()
        return 1
    return 0


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP end :meth:`_Server.serve` (which cleans up) via SystemExit."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    for sig in _END_SIGNALS:
        signal.signal(sig, handler)
    yield


def serve(
    path: Path, backend: str, threads: int, preload: Sequence[str], fingerprint: str | None = None
) -> None:
    """Import the framework and ``preload``, then serve jobs on the socket ``path`` until idle."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(message)s")
    with _signals_end_serving():
        t0 = time.perf_counter()
        configure(backend, threads)
        from mtrl.runtime import import_keras

        import_keras(backend)
        for module in preload:
            importlib.import_module(module)
        current = package_fingerprint()
        if fingerprint is not None and fingerprint != current:
            raise SystemExit("the mtrl sources changed while the server started")
        threads_now = _os_threads()
        if threads_now != 1 or _backend_initialised(backend):
            raise SystemExit(f"imports left {threads_now} threads or an initialised {backend} backend")
        gc.collect()
        gc.freeze()  # keep the collector from touching (and copying) the imported objects in children
        idle = float(os.environ.get("MTRL_WORKER_IDLE") or DEFAULT_IDLE)
        cache = int(os.environ.get("MTRL_WORKER_CACHE") or CACHE_ENTRIES)
        server = _Server(path, current, backend, idle, cache)
        server.listen()
        _log.info(
            "serving %s (%s, %d threads) after %.1f s of imports",
            path,
            backend,
            threads,
            time.perf_counter() - t0,
        )
        server.serve()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mtrl.worker serve|stop``."""
    parser = argparse.ArgumentParser(prog="python -m mtrl.worker", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run a server (normally started by mtrl.worker.run)")
    p.add_argument("--socket", required=True)
    p.add_argument("--key", help="the server key (informative)")
    p.add_argument("--backend", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--fingerprint", help="exit unless the mtrl sources still have this fingerprint")
    p.add_argument("--preload", nargs="*", default=["mtrl.train"])
    p = sub.add_parser("stop", help="stop this user's servers (in $MTRL_WORKER_DIR)")
    p.add_argument("--now", action="store_true", help="kill running jobs instead of letting them end")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(Path(args.socket), args.backend, args.threads, args.preload, args.fingerprint)
    else:
        for pid in stop(now=args.now):
            print(f"stopping server {pid}")
    return 0


if __name__ == "__main__":
    # Run as ``mtrl.worker``, not ``__main__``: jobs that import mtrl.worker (cached_prepared) must
    # see this module's state, not a second copy.
    from mtrl.worker import main as _main

    sys.exit(_main())
