"""Which server may run a client's jobs: the server key and what goes into it.

Servers are keyed by backend, threads, interpreter, preloaded modules, the mtrl sources (paths,
sizes and mtimes, so edited code never runs in a stale server) and the environment variables that
shape the frameworks; every key starts with the machine's short name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

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
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the mtrl package


def package_fingerprint(root: str | os.PathLike = PACKAGE_ROOT) -> str:
    """Hash of the path, size and modification time of every ``*.py`` file under ``root``."""
    root = Path(root)
    h = hashlib.sha256(str(root).encode())
    for path in sorted(root.rglob("*.py")):
        with contextlib.suppress(OSError):  # deleted meanwhile
            st = path.stat()
            h.update(f"\0{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def server_key(backend: str, threads: int, preload: Sequence[str] = ()) -> str:
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
    return f"{host()}-{digest}"


def host() -> str:
    """This machine's short name, in every socket name: a shared (NFS) worker folder never
    mixes the servers of different machines."""
    name = socket.gethostname().split(".")[0] or "host"
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:20]
