"""Registries of plug-ins by name: a variant is one class in one file, found by its name.

A registry maps each name to ``"module:Class"`` (imported on first use, so that naming, listing
and checking plug-ins imports no framework) or to the class itself. :mod:`mtrl.architectures`
and :mod:`mtrl.weightings` each keep one.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class Registry(Generic[T]):
    """Plug-in classes of one ``kind`` (e.g. ``"architecture"``) by name, loaded lazily.

    ``base`` is the class every plug-in must derive from.
    """

    def __init__(self, kind: str, base: type[T], entries: Mapping[str, str | type[T]] = ()) -> None:
        self.kind, self.base = kind, base
        self._entries: dict[str, str | type[T]] = {}
        for name, target in dict(entries).items():
            self.register(name, target)

    def register(self, name: str, target: str | type[T], replace: bool = False) -> None:
        """Add plug-in ``name``: a ``"module:Class"`` string or the class itself."""
        if not NAME.fullmatch(name):
            raise ValueError(f"{self.kind} name {name!r}: use a letter, then letters, digits or _")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is registered already (pass replace=True)")
        if isinstance(target, str) and not re.fullmatch(r"[\w.]+:\w+", target):
            raise ValueError(f"{self.kind} {name!r}: {target!r} is not 'module:Class'")
        self._entries[name] = target

    def get(self, name: str) -> type[T]:
        """The class of plug-in ``name``; a ValueError lists the known names if there is none."""
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}")
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attribute = target.partition(":")
            target = getattr(importlib.import_module(module), attribute)
        if not (isinstance(target, type) and issubclass(target, self.base)):
            raise TypeError(f"{self.kind} {name!r}: {target!r} is not a subclass of {self.base.__name__}")
        return target

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
