"""Process set-up that must happen before Keras is imported: backend and CPU threads."""

from __future__ import annotations

import os

BACKENDS = ("tensorflow", "jax", "torch")


def configure(backend: str, threads: int | None = None) -> None:
    """Select the Keras backend and limit the CPU threads of this process.

    Call before the first ``import keras``; raises if Keras is already imported with another
    backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    import sys

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
    if threads:
        n = str(int(threads))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
        os.environ["TF_NUM_INTRAOP_THREADS"] = n
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (
                f"{flags} --xla_cpu_multi_thread_eigen={'true' if int(threads) > 1 else 'false'} "
                f"intra_op_parallelism_threads={n}"
            ).strip()
