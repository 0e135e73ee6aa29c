import pytest

from mtrl.backends.jax import JaxBackend
from mtrl.backends.tensorflow import TensorFlowBackend
from mtrl.backends.torch import TorchBackend
from mtrl.precision import cpu_flags, cpu_has_bfloat16


def _torch(native: bool) -> TorchBackend:
    backend = TorchBackend()
    backend.native_bfloat16 = lambda: native  # the hardware detection, fixed
    return backend


def test_auto_is_bfloat16_only_on_torch_with_native_support():
    assert _torch(True).precision("auto") == "bfloat16"
    assert _torch(False).precision("auto") == "float32"
    for backend in (JaxBackend(), TensorFlowBackend()):
        assert backend.precision("auto") == "float32"


def test_explicit_precision_is_honoured():
    assert _torch(True).precision("float32") == "float32"
    assert JaxBackend().precision("bfloat16") == "bfloat16"


def test_unknown_precision_is_named():
    with pytest.raises(ValueError, match=r"precision 'half' is not one of auto, float32, bfloat16"):
        _torch(True).precision("half")


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    flags = cpu_flags(str(info))
    assert "avx512_bf16" in flags and "sse2" in flags
    assert cpu_has_bfloat16(flags)
    assert not cpu_has_bfloat16(frozenset({"avx2", "avx512f"}))
    assert cpu_flags(str(tmp_path / "absent")) == frozenset()
