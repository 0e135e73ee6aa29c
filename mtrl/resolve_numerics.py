"""The job of rule ``resolve_numerics``: the study's backend, precision and device, decided once.

Runs in its own process on a node like the training jobs' (with their threads), so that the
device it sees and any calibration it measures (:meth:`mtrl.backends.base.Backend.auto_precision`)
are the training nodes'. Writes ``numerics.json`` (:func:`mtrl.numerics.numerics_document`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtrl.calibration import NetworkShape
from mtrl.io import write_json
from mtrl.numerics import numerics_document
from mtrl.precision import cpu_model_name


def resolve_numerics(
    backend: str,
    setting: str,
    shape: NetworkShape | Mapping[str, Any],
    path: str | os.PathLike,
    threads: int | None = None,
) -> dict[str, Any]:
    """Resolve the study's numerics in this process and write ``path``.

    ``setting``: the config's ``precision``; ``shape``: the study's network
    (:meth:`NetworkShape.of_config`, or its fields as the rule's params give them).
    """
    from mtrl import backends, runtime

    if not isinstance(shape, NetworkShape):
        shape = NetworkShape(**{k: tuple(v) if isinstance(v, list) else v for k, v in shape.items()})
    runtime.configure(backend, threads)
    impl = backends.get(backend)
    impl.import_keras()
    impl.prepare_process()  # as a training job's process
    choice = impl.choose_precision(setting, shape)
    host = {"cpu": cpu_model_name(), "cpus": os.cpu_count(), "threads": threads}
    doc = numerics_document(backend, setting, choice, impl.device, host)
    write_json(Path(path), doc)
    logging.getLogger("mtrl").info(
        "numerics of the study: %s/%s on %s (precision %s: %s)",
        backend,
        choice.precision,
        impl.device,
        setting,
        choice.reason,
    )
    return doc
