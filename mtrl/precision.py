"""Numeric precision of training: float32, or bfloat16 compute with float32 weights.

Pure detection code (no Keras): ``auto`` picks bfloat16 only where it is measured faster and the
hardware supports it natively, i.e. the PyTorch backend on a CPU with AVX512-BF16 or AMX-BF16
instructions (oneDNN kernels) or on a CUDA GPU with bfloat16 support; float32 everywhere else.
XLA (JAX) and TensorFlow gain nothing from bfloat16 on a CPU (see the README's Performance
section), so ``auto`` keeps them in float32.
"""

from __future__ import annotations

import functools

PRECISIONS = ("auto", "float32", "bfloat16")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


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


def resolve_precision(
    setting: str, backend: str, device: str = "cpu", bf16_hardware: bool | None = None
) -> str:
    """The precision a run trains in: ``float32`` or ``bfloat16``.

    ``device`` is ``cpu`` or ``cuda``; ``bf16_hardware`` overrides the detection (tests).
    An explicit ``bfloat16`` is honoured on every backend (Keras's ``mixed_bfloat16`` policy on
    JAX and TensorFlow); ``auto`` chooses bfloat16 only on PyTorch with native support.
    """
    if setting not in PRECISIONS:
        raise ValueError(f"precision {setting!r} is not one of {', '.join(PRECISIONS)}")
    if setting != "auto":
        return setting
    if backend != "torch":
        return "float32"
    if bf16_hardware is None:
        bf16_hardware = _cuda_has_bfloat16() if device == "cuda" else cpu_has_bfloat16()
    return "bfloat16" if bf16_hardware else "float32"


def _cuda_has_bfloat16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
