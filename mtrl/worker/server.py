"""The server side of the warm worker: import the framework once, then fork a child per job.

:func:`serve` imports the backend's Keras and the modules to preload, freezes the garbage
collector's view of them, and runs :class:`Server`: a single-threaded accept/fork/wait loop
(forking from a one-thread process is safe). For each job it calls the request's warm-up, forks,
and reports the child's exit status; if the client goes away first, it kills the child's
process group. It exits after ``$MTRL_WORKER_IDLE`` seconds without a job, on a stop request,
on SIGTERM/SIGINT/SIGHUP, or when the mtrl sources change.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtrl.runtime import configure, import_keras
from mtrl.worker.forking import END_SIGNALS, become_job, fork, fork_hazard, killpg
from mtrl.worker.jobs import call_logged, warm_up
from mtrl.worker.keys import package_fingerprint
from mtrl.worker.protocol import decode, encode

_log = logging.getLogger("mtrl.worker")

DEFAULT_IDLE = 120.0  # seconds a server waits for the next job before it exits
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL of an abandoned job
SOURCE_CHECK_INTERVAL = 5.0  # seconds between checks that the mtrl sources are unchanged


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytes = b""
    pid: int | None = None  # the job's child
    pidfd: int | None = None
    kill_at: float | None = None  # when to SIGKILL the abandoned child
    client_gone: bool = False
    started: float = field(default_factory=time.monotonic)


class Server:
    """The single-threaded accept/fork/wait loop on the socket ``path``."""

    def __init__(self, path: Path, fingerprint: str, backend: str, idle: float) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.backend = backend
        self.idle = idle
        self.sel = selectors.DefaultSelector()
        self.conns: dict[int, _Conn] = {}  # by socket fd
        self.children: dict[int, _Conn] = {}  # by pid
        self.listener: socket.socket | None = None
        self.inode: int | None = None
        self.stopping = False
        self.last_active = time.monotonic()
        self.last_check = time.monotonic()

    # -- the listening socket and the loop ---------------------------------------------------

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
            while not self._done():
                self._maintain()
                for key, _ in self.sel.select(self._timeout()):
                    try:
                        self._dispatch(key)
                    except Exception:  # one connection's trouble must not end the others' jobs
                        _log.exception("error while handling %s", key.data)
        finally:
            self.close_listener()
            self._kill_all()

    def _done(self) -> bool:
        idle = time.monotonic() - self.last_active > self.idle
        if not self.children and not self.conns and (self.stopping or idle):
            _log.info("exiting (%s)", "stopped" if self.stopping else "idle")
            return True
        return False

    def _dispatch(self, key: selectors.SelectorKey) -> None:
        if key.data == "accept":
            self._accept()
        elif key.data == "client":
            self._on_client(key.fileobj)
        else:
            self._on_child(key.data)

    def _stop_taking_jobs(self) -> None:
        self.stopping = True
        self.close_listener()

    def _timeout(self) -> float:
        timeout = 1.0
        for conn in self.children.values():
            if conn.pidfd is None:
                timeout = 0.05  # no pidfd: poll
            if conn.kill_at is not None:
                timeout = min(timeout, max(0.0, conn.kill_at - time.monotonic()))
        return timeout

    def _maintain(self) -> None:
        """SIGKILL abandoned jobs past their grace period, poll children, check the sources."""
        now = time.monotonic()
        for pid, conn in list(self.children.items()):
            if conn.kill_at is not None and now >= conn.kill_at:
                killpg(pid, signal.SIGKILL)
                conn.kill_at = None
            if conn.pidfd is None:
                self._reap(pid, block=False)
        if now - self.last_check > SOURCE_CHECK_INTERVAL and self.listener is not None:
            self.last_check = now
            if package_fingerprint() != self.fingerprint:
                _log.info("the mtrl sources changed: taking no more jobs")
                self._stop_taking_jobs()

    # -- clients -----------------------------------------------------------------------------

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
        request = decode(conn.buffer.partition(b"\n")[0])
        if request is None:
            self._drop(conn)
        elif request.get("stop"):
            self._stop(conn, now=bool(request.get("now")))
        else:
            self._start_job(conn, request)

    def _stop(self, conn: _Conn, now: bool) -> None:
        """A stop request: take no more jobs; with ``now``, kill the running ones."""
        self._send(conn, {"stopping": True, "server": os.getpid()})
        self._drop(conn)
        self._stop_taking_jobs()
        if now:
            self._kill_all(wait=False)

    def _refuse(self, conn: _Conn, error: str) -> None:
        self._send(conn, {"accepted": False, "error": error})
        self._drop(conn)

    def _send(self, conn: _Conn, message: dict[str, Any]) -> bool:
        try:
            conn.sock.sendall(encode(message))
        except OSError:
            return False
        return True

    def _drop(self, conn: _Conn) -> None:
        fd = conn.sock.fileno()
        if fd >= 0 and self.conns.pop(fd, None) is not None:
            self.sel.unregister(conn.sock)
        conn.sock.close()

    # -- jobs --------------------------------------------------------------------------------

    def _start_job(self, conn: _Conn, request: dict[str, Any]) -> None:
        """Warm up, fork the job's child and tell the client."""
        if self.stopping:
            self._refuse(conn, "server is stopping")
            return
        warm_up(request.get("warm"), request.get("cwd"))
        hazard = fork_hazard(self.backend)
        if hazard is not None:
            error = f"server has {hazard}: unsafe to fork"
            _log.error("%s; taking no more jobs", error)
            self._refuse(conn, error)
            self._stop_taking_jobs()
            return
        server = os.getpid()
        try:
            pid, mask = fork()
        except OSError as err:
            self._refuse(conn, f"cannot fork: {err}")
            return
        if pid == 0:
            self._child(request, server, mask)  # never returns
        self._track(conn, pid)
        _log.info("job %s: child %d for %s", request.get("target"), pid, request.get("log"))
        if not self._send(conn, {"accepted": True, "pid": pid, "server": server}):
            self._abandon(conn)

    def _track(self, conn: _Conn, pid: int) -> None:
        """Watch the child ``pid`` of ``conn`` (by a pidfd where there is one, else by polling)."""
        conn.pid = pid
        self.children[pid] = conn
        try:
            conn.pidfd = os.pidfd_open(pid)
            self.sel.register(conn.pidfd, selectors.EVENT_READ, pid)
        except (AttributeError, OSError):
            conn.pidfd = None  # polled by _maintain

    def _child(self, request: dict[str, Any], server: int, mask: set[signal.Signals]) -> None:
        """In the forked child: drop the server's sockets, become a fresh job process, run, exit."""
        code = 1
        try:
            become_job(server, mask)
            self._close_inherited()
            logging.getLogger().handlers.clear()  # the server's stderr handler
            sys.argv = sys.argv[:1]  # not the server's options
            os.chdir(request.get("cwd") or ".")
            code = call_logged(request["target"], request.get("kwargs") or {}, request.get("log"))
        except BaseException:
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _close_inherited(self) -> None:
        """In a child: close the selector, listener, client sockets and pidfds of the server."""
        with contextlib.suppress(Exception):
            self.sel.close()
        if self.listener is not None:
            self.listener.close()
        for other in self.conns.values():
            other.sock.close()
            if other.pidfd is not None:
                os.close(other.pidfd)

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
            killpg(conn.pid, signal.SIGTERM)
            conn.kill_at = time.monotonic() + KILL_GRACE

    def _kill_all(self, wait: bool = True) -> None:
        """SIGTERM every running job; with ``wait``, SIGKILL those alive after the grace period."""
        for pid, conn in self.children.items():
            killpg(pid, signal.SIGTERM)
            conn.kill_at = time.monotonic() + KILL_GRACE
        if not wait:
            return
        deadline = time.monotonic() + KILL_GRACE
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                self._reap(pid, block=False)
            time.sleep(0.05)
        for pid in list(self.children):
            killpg(pid, signal.SIGKILL)
            self._reap(pid, block=True)


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP end :meth:`Server.serve` (which cleans up) via SystemExit."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    for sig in END_SIGNALS:
        signal.signal(sig, handler)
    yield


def serve(
    path: Path, backend: str, threads: int, preload: Sequence[str], fingerprint: str | None = None
) -> None:
    """Import the framework and ``preload``, then serve jobs on the socket ``path`` until idle."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(message)s")
    with _signals_end_serving():
        t0 = time.perf_counter()
        current = _import_framework(backend, threads, preload)
        if fingerprint is not None and fingerprint != current:
            raise SystemExit("the mtrl sources changed while the server started")
        hazard = fork_hazard(backend)
        if hazard is not None:
            raise SystemExit(f"imports left {hazard}: unsafe to fork")
        gc.collect()
        gc.freeze()  # keep the collector from touching (and copying) the imported objects in children
        idle = float(os.environ.get("MTRL_WORKER_IDLE") or DEFAULT_IDLE)
        server = Server(path, current, backend, idle)
        server.listen()
        _log.info(
            "serving %s (%s, %d threads) after %.1f s of imports",
            path,
            backend,
            threads,
            time.perf_counter() - t0,
        )
        server.serve()


def _import_framework(backend: str, threads: int, preload: Sequence[str]) -> str:
    """Configure and import the backend's Keras and ``preload``; the sources' fingerprint after."""
    configure(backend, threads)
    import_keras(backend)
    for module in preload:
        importlib.import_module(module)
    return package_fingerprint()
