"""A training job: JSON arguments -> :class:`~mtrl.spec.RunSpec` -> :func:`mtrl.train.train_run`.

``scripts/train.py`` hands :func:`run_job` to the warm worker (:mod:`mtrl.worker`) by name, with
:func:`mtrl.data.cache.warm` as the call the worker's server makes before it forks the job: the
job then reads the server's parsed copy of the prepared data (:func:`mtrl.data.cache.cached_prepared`)
instead of the file. The job holds its run's lock (:func:`mtrl.runlock.run_lock`, in the folder of
``metrics.json``) from start to end: two jobs never train the same run at once. Import only after
:func:`mtrl.runtime.configure` has chosen the backend.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from mtrl.data.cache import cached_prepared
from mtrl.runlock import run_lock
from mtrl.spec import RunSpec
from mtrl.train import train_run


def run_job(
    data_path: str,
    spec: dict[str, Any],
    model_path: str,
    history_path: str,
    metrics_path: str,
    backend: str,
    study_numerics: dict[str, str] | None = None,
) -> None:
    """Train the run ``spec`` (``RunSpec`` keyword arguments) on the prepared data at ``data_path``.

    ``study_numerics``: the backend, precision and device the study resolved (``numerics.json``).
    """
    with run_lock(Path(metrics_path).parent):
        data = cached_prepared(data_path)  # the warm worker's parsed copy, else read from disk
        train_run(
            data,
            RunSpec(**spec),
            model_path,
            history_path,
            metrics_path,
            backend,
            study_numerics=study_numerics,
        )


def run_group_job(
    data_path: str,
    specs: list[dict[str, Any]],
    outputs: list[dict[str, str]],
    backend: str,
    study_numerics: dict[str, str] | None = None,
) -> None:
    """Train the replicate group ``specs`` (``RunSpec`` keyword arguments, one per seed; see
    :mod:`mtrl.group`), each run's outputs at ``outputs`` (``model``, ``history``, ``metrics``).

    Holds the lock of every run of the group (taken in path order, so two groups never deadlock).
    """
    from mtrl.group import train_group

    folders = sorted({str(Path(out["metrics"]).parent) for out in outputs})
    with contextlib.ExitStack() as locks:
        for folder in folders:
            locks.enter_context(run_lock(folder))
        data = cached_prepared(data_path)
        train_group(data, [RunSpec(**spec) for spec in specs], outputs, backend, study_numerics)
