"""Numeric precision of training: float32, or bfloat16 compute with float32 weights.

Pure detection code (no Keras). What ``auto`` resolves to is each backend's decision
(:meth:`mtrl.backends.base.Backend.auto_precision`): bfloat16 only where it is measured faster
and the hardware supports it natively, i.e. the PyTorch backend on a CPU with AVX512-BF16 or
AMX-BF16 instructions (oneDNN kernels) or on a CUDA GPU with bfloat16 support; float32 everywhere
else. XLA (JAX) and TensorFlow gain nothing from bfloat16 on a CPU (see the README's Performance
section). The allowed settings and the default are the schema's (``precision``).
"""

from __future__ import annotations

import functools

from mtrl.schema import allowed_values

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
AUTO = "auto"


@functools.cache
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


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
