"""Numeric precision of training: float32, or bfloat16 compute with float32 weights.

Pure detection code (no Keras). What ``auto`` resolves to is each backend's decision
(:meth:`mtrl.backends.base.Backend.auto_precision`), a :class:`PrecisionChoice` that says how it
was made: on the PyTorch backend, bfloat16 where a short measurement at the study's network shapes
finds it faster on this CPU (:mod:`mtrl.calibration`; only CPUs with AVX512-BF16 or AMX-BF16
instructions are measured) or where a CUDA GPU supports it; float32 everywhere else. XLA (JAX) and
TensorFlow gain nothing from bfloat16 on a CPU (see the README's Performance section). The allowed
settings and the default are the schema's (``precision``).
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass, field
from typing import Any

from mtrl.schema import allowed_values

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
AUTO = "auto"
FLOAT32, BFLOAT16 = "float32", "bfloat16"


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a study or run trains in, and how it was decided.

    ``reason``: one clause in words (it ends up in ``numerics.json`` and the findings);
    ``calibration``: the measured step times where the choice was measured, else None.
    """

    precision: str
    reason: str
    calibration: dict[str, Any] | None = field(default=None, compare=False)


@functools.cache
def _cpuinfo_field(name: str, path: str) -> str | None:
    """The value of the first ``name`` line of ``path`` (/proc/cpuinfo), or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                key, sep, value = line.partition(":")
                if sep and key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    return frozenset((_cpuinfo_field("flags", path) or "").split())


def cpu_model_name(path: str = "/proc/cpuinfo") -> str:
    """The CPU's ``model name`` as the kernel reports it, else the platform's processor name."""
    return _cpuinfo_field("model name", path) or platform.processor() or platform.machine() or "unknown"


def cpu_has_bfloat16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU computes bfloat16 matrix products natively (AVX512-BF16 or AMX-BF16)."""
    flags = cpu_flags() if flags is None else flags
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def check_precision(setting: str) -> str:
    """``setting`` if the schema allows it (``auto``, ``float32``, ``bfloat16``), else ValueError."""
    allowed = allowed_values("precision")
    if setting not in allowed:
        raise ValueError(f"precision {setting!r} is not one of {', '.join(allowed)}")
    return setting
