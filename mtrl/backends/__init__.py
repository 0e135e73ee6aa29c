"""Keras backends as plug-ins: one module per backend behind :class:`~mtrl.backends.base.Backend`.

A run looks its backend up once, by name (:func:`get`); nothing else in mtrl compares backend
names. Adding a backend is one module with a :class:`~mtrl.backends.base.Backend` subclass plus
its line in :data:`MODULES` (and the schema's ``backend`` enum, which a test keeps in step).
This module and :mod:`mtrl.backends.base` import no framework: the process set-up
(:mod:`mtrl.runtime`) and the warm worker use them before Keras is imported.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtrl.backends.base import Backend

#: Backend name -> the module that defines its ``BACKEND`` class (imported on first use).
MODULES = {
    "torch": "mtrl.backends.torch",
    "jax": "mtrl.backends.jax",
    "tensorflow": "mtrl.backends.tensorflow",
}
NAMES = tuple(MODULES)


def backend_class(name: str) -> type[Backend]:
    """The :class:`~mtrl.backends.base.Backend` subclass of backend ``name``."""
    if name not in MODULES:
        raise ValueError(f"backend {name!r} is not one of {', '.join(NAMES)}")
    return importlib.import_module(MODULES[name]).BACKEND


@functools.cache
def get(name: str) -> Backend:
    """The backend ``name`` (one instance per process: its device and precision are found once)."""
    return backend_class(name)()
