"""Process set-up that must happen before Keras is imported: backend and CPU threads.

What differs between backends (their environment variables, seeding, devices) is each
backend's own (:mod:`mtrl.backends`); this module holds what every training process shares.
"""

from __future__ import annotations

import ctypes
import os
import sys


def cache_dir(name: str) -> str:
    """Folder ``name`` of mtrl's caches (``MTRL_CACHE_DIR``, else ``~/.cache/mtrl``)."""
    root = os.environ.get("MTRL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mtrl")
    return os.path.join(root, name)


def has_gpu_hint() -> bool:
    """Whether this process may have a GPU: then JAX looks for one (else it is kept on the CPU).

    Inside a SLURM job only what the job was given counts (``CUDA_VISIBLE_DEVICES``, which SLURM
    sets for a job with GPUs, or ``SLURM_JOB_GPUS``): a CPU job on a GPU node keeps off the node's
    GPUs. Elsewhere a GPU is visible where ``CUDA_VISIBLE_DEVICES`` names one or, with it unset,
    where the NVIDIA driver's device files exist. An empty ``CUDA_VISIBLE_DEVICES`` (or ``-1``)
    hides every GPU.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return visible.strip() not in ("", "-1")
    if os.environ.get("SLURM_JOB_GPUS"):
        return True
    if os.environ.get("SLURM_JOB_ID"):
        return False
    return any(name.startswith("nvidia") and name[6:].isdigit() for name in _dev_entries())


def _dev_entries() -> list[str]:
    try:
        return os.listdir("/dev")
    except OSError:
        return []


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD_MAX = 32 * 1024**2  # glibc's largest allowed on 64-bit


def keep_freed_memory() -> bool:
    """Let glibc serve large blocks from the heap and keep what is freed for the next step.

    A training step allocates and frees the same tens of MB (a 5,000 x 1,024 gradient is 20 MB);
    by default glibc hands such blocks back and every page faults in again (~7,000 faults, ~3 ms,
    a third of a step of the ``high`` model). Process-wide: call it in a training process (not in
    a long-lived one), whose memory then stays at its high-water mark instead of shrinking between
    steps (up to 1 GiB of freed heap is kept). Returns False where the C library has no
    ``mallopt`` (not glibc) or refuses a setting.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    results = [mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX), mallopt(_M_TRIM_THRESHOLD, 2**30)]
    return all(results)


def configure(backend: str, threads: int | None = None) -> None:
    """Select the Keras backend and limit the CPU threads of this process.

    Call before the first ``import keras``; raises if Keras is already imported with another
    backend, or if ``backend`` is not one of :data:`mtrl.backends.NAMES`.
    """
    from mtrl import backends

    impl = backends.get(backend)
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise RuntimeError(
                f"Keras is already imported with backend {keras.backend.backend()!r}; "
                f"cannot switch to {backend!r} in this process"
            )
        return
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Keras imports scikit-learn (1.2 s with SciPy's stats) for its optional sklearn wrappers
    # whenever it is installed; a training job never uses them, so hide it from this process.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
    impl.configure_environment()
    if threads:
        _limit_threads(int(threads))


def _limit_threads(threads: int) -> None:
    """Limit the BLAS, OpenMP, TensorFlow and XLA thread pools of this process to ``threads``."""
    n = str(threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    os.environ["TF_NUM_INTRAOP_THREADS"] = n
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        # XLA has no thread-count flag on CPU; one thread is its single-threaded Eigen mode
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def import_keras(backend: str):
    """Import Keras for ``backend`` (configured by :func:`configure`), keeping TensorFlow unloaded
    on the other backends (:meth:`mtrl.backends.base.Backend.import_keras`)."""
    from mtrl import backends

    return backends.get(backend).import_keras()


def backend_initialised(backend: str) -> bool:
    """Whether this process has set up ``backend``'s devices (then it must not fork)."""
    from mtrl import backends

    return backends.get(backend).initialised()
