"""Exceptions shared across layers of mtrl (kept low in the import graph)."""

from __future__ import annotations


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss."""
