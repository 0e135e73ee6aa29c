"""Keras backends as plug-ins: one module per backend behind :class:`~mtrl.backends.base.Backend`.

A run looks its backend up once, by name (:func:`get`); nothing else in mtrl compares backend
names. Adding a backend is one module with a :class:`~mtrl.backends.base.Backend` subclass plus
its line in :data:`BACKENDS` (and the schema's ``backend`` enum, which a test keeps in step).
This module and :mod:`mtrl.backends.base` import no framework: the process set-up
(:mod:`mtrl.runtime`) uses them before Keras is imported.
"""

from __future__ import annotations

import functools

from mtrl.backends.base import Backend
from mtrl.plugins import Registry

#: Every backend by name (each module is imported on first use).
BACKENDS: Registry[Backend] = Registry(
    "backend",
    Backend,
    {
        "torch": "mtrl.backends.torch:TorchBackend",
        "jax": "mtrl.backends.jax:JaxBackend",
        "tensorflow": "mtrl.backends.tensorflow:TensorFlowBackend",
    },
)
NAMES = tuple(BACKENDS.names())
backend_class = BACKENDS.get


@functools.cache
def get(name: str) -> Backend:
    """The backend ``name`` (one instance per process: its device and precision are found once)."""
    return backend_class(name)()


__all__ = ["BACKENDS", "NAMES", "Backend", "backend_class", "get"]
