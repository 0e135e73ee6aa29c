"""Exceptions shared across layers of mtrl (kept low in the import graph)."""

from __future__ import annotations


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""


class ConfigError(ValueError):
    """A configuration value that cannot work, with the key, the value and what is allowed."""


class ReplicateError(RuntimeError):
    """One replicate of a group trained in one program failed: its group fails, naming the seed."""
