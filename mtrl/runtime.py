"""Process set-up that must happen before Keras is imported: backend and CPU threads."""

from __future__ import annotations

import ctypes
import os
import sys

BACKENDS = ("tensorflow", "jax", "torch")


def jax_cache_dir() -> str:
    """Where compiled XLA programs are kept (``MTRL_CACHE_DIR``, else ``~/.cache/mtrl``)."""
    root = os.environ.get("MTRL_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mtrl")
    return os.path.join(root, "jax")


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
    backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")

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
    if backend == "jax":
        # XLA compilation is most of a small run's cost; every run of a study compiles the same
        # few functions, so keep them in a persistent cache shared by all runs (and processes).
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", jax_cache_dir())
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
        gpu = has_gpu_hint()
        os.environ.setdefault("JAX_PLATFORMS", "" if gpu else "cpu")
        if gpu:  # several jobs may share a GPU: take memory as needed, not 75% of it each
            os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if threads:
        n = str(int(threads))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
        os.environ["TF_NUM_INTRAOP_THREADS"] = n
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        flags = os.environ.get("XLA_FLAGS", "")
        if int(threads) == 1 and "xla_cpu_multi_thread_eigen" not in flags:
            # XLA has no thread-count flag on CPU; one thread is its single-threaded Eigen mode
            os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def set_seed(seed: int, backend: str) -> None:
    """Seed Python, NumPy, Keras and the backend, like ``keras.utils.set_random_seed``.

    That Keras function imports TensorFlow (several seconds) whenever it is installed, even on
    the JAX or PyTorch backends; here TensorFlow is seeded only when it is the backend.
    """
    import keras

    if backend == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    import random

    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)


def import_keras(backend: str):
    """Import Keras for ``backend`` and keep TensorFlow unloaded on other backends.

    Keras probes for TensorFlow (importing it: 4-8 s) while seeding and saving models even on JAX or
    PyTorch; it only needs it for ``tf.data`` inputs, which mtrl never passes. Marking the lazy
    module unavailable skips that import.
    """
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(
            f"Keras runs on backend {keras.backend.backend()!r}, expected {backend!r}: "
            "call mtrl.runtime.configure() before anything imports keras"
        )
    if backend != "tensorflow":
        from keras.src.utils import module_utils

        module_utils.tensorflow._available = False
    return keras
