"""How a training rule's script hands its job to the warm worker (:mod:`mtrl.worker`).

Light on purpose (no Keras, no training code): the script's process only asks. ``mtrl.job`` is
imported once by the worker's server (``preload``), and the server reads the job's prepared data
just before it forks the job (``warm``: :func:`mtrl.data.cache.warm`), so each forked job shares
the parsed copy. Inside a Slurm job, or with ``MTRL_WORKER=off``, the job runs in this process.
"""

from __future__ import annotations

from typing import Any

from mtrl.numerics import NUMERICS_KEYS


def hand_off(
    job: str,
    arguments: dict[str, Any],
    study_numerics: dict[str, str],
    *,
    data_path: str,
    log: str,
    backend: str,
    threads: int,
) -> None:
    """Run ``mtrl.job:<job>`` with ``arguments`` plus the data path, backend and study numerics."""
    from mtrl.worker import run

    run(
        f"mtrl.job:{job}",
        {
            "data_path": data_path,
            **arguments,
            "backend": backend,
            "study_numerics": {key: study_numerics[key] for key in NUMERICS_KEYS},
        },
        log=log,
        backend=backend,
        threads=threads,
        preload=("mtrl.job",),
        warm=("mtrl.data.cache:warm", {"path": data_path}),
    )
