"""Warm worker: run jobs in forks of a process that has already imported Keras.

Every Snakemake job is a fresh Python process that spends seconds importing Keras and its
backend before a few seconds of training. :func:`run` instead hands the call to a long-lived
server process of the same machine and user that imported the framework once; for every job the
server forks a fresh child that runs the call and exits. The parent never builds a model nor
initialises a backend (its JAX has no backend yet, its threads are only the main thread), so the
child starts from the state a fresh process has after the imports, and sets its own seeds.

The worker is a generic host: it knows neither the jobs nor their data. A request names its job
as ``"module:function"`` with JSON keyword arguments, and may name a warm-up the server calls in
its own process before forking the job, so that the child inherits what the warm-up kept in
module state (``run(..., warm=("mtrl.data.cache:warm", {"path": ...}))`` keeps a parsed data
file; the job reads it with :func:`mtrl.data.cache.cached_prepared`).

Servers are keyed by backend, threads, interpreter, preloaded modules, the mtrl sources (paths,
sizes and mtimes, so edited code never runs in a stale server) and the environment variables
that shape the frameworks. They live in ``$MTRL_WORKER_DIR`` (default ``<tmp>/mtrl-worker-<uid>``)
and exit after ``$MTRL_WORKER_IDLE`` seconds (default 120) without a job. ``MTRL_WORKER=off`` (or
running inside a Slurm job, unless ``MTRL_WORKER=on``) runs every call in the calling process
instead.

Modules: :mod:`~mtrl.worker.client` (:func:`run`, :func:`stop`, starting servers),
:mod:`~mtrl.worker.server` (the accept/fork/wait loop), :mod:`~mtrl.worker.forking` (fork safety,
the child's signals and process group), :mod:`~mtrl.worker.jobs` (the warm-up and the logged
job call), :mod:`~mtrl.worker.protocol` (messages, targets), :mod:`~mtrl.worker.keys` (server
keys) and :mod:`~mtrl.worker.cli`.

Command line: ``python -m mtrl.worker serve ...`` (started by :func:`run`) and
``python -m mtrl.worker stop [--now]`` (stop this user's servers).
"""

from mtrl.worker.cli import main
from mtrl.worker.client import (
    OFF,
    ON,
    SOCKET_PATH_MAX,
    START_TIMEOUT,
    WorkerJobError,
    enabled,
    run,
    stop,
    worker_dir,
)
from mtrl.worker.keys import KEY_ENV, KEY_ENV_PREFIXES, PACKAGE_ROOT, package_fingerprint, server_key
from mtrl.worker.server import DEFAULT_IDLE, KILL_GRACE, serve

__all__ = [
    "DEFAULT_IDLE",
    "KEY_ENV",
    "KEY_ENV_PREFIXES",
    "KILL_GRACE",
    "OFF",
    "ON",
    "PACKAGE_ROOT",
    "SOCKET_PATH_MAX",
    "START_TIMEOUT",
    "WorkerJobError",
    "enabled",
    "main",
    "package_fingerprint",
    "run",
    "serve",
    "server_key",
    "stop",
    "worker_dir",
]
