import pytest

from mtrl.precision import cpu_flags, cpu_has_bfloat16, resolve_precision


def test_auto_is_bfloat16_only_on_torch_with_native_support():
    assert resolve_precision("auto", "torch", bf16_hardware=True) == "bfloat16"
    assert resolve_precision("auto", "torch", bf16_hardware=False) == "float32"
    for backend in ("jax", "tensorflow"):
        assert resolve_precision("auto", backend, bf16_hardware=True) == "float32"


def test_explicit_precision_is_honoured():
    assert resolve_precision("float32", "torch", bf16_hardware=True) == "float32"
    assert resolve_precision("bfloat16", "jax", bf16_hardware=False) == "bfloat16"


def test_unknown_precision_is_named():
    with pytest.raises(ValueError, match=r"precision 'half' is not one of auto, float32, bfloat16"):
        resolve_precision("half", "torch")


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    flags = cpu_flags(str(info))
    assert "avx512_bf16" in flags and "sse2" in flags
    assert cpu_has_bfloat16(flags)
    assert not cpu_has_bfloat16(frozenset({"avx2", "avx512f"}))
    assert cpu_flags(str(tmp_path / "absent")) == frozenset()
