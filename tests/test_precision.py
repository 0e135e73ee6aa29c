import pytest

from mtrl.backends.jax import JaxBackend
from mtrl.backends.tensorflow import TensorFlowBackend
from mtrl.backends.torch import TorchBackend
from mtrl.precision import cpu_flags, cpu_has_bfloat16, cpu_model_name

# step times of the `high` model measured by `make bench` (seconds an epoch; only ratios matter)
EPYC = {"float32": [8.88, 8.9, 8.7], "bfloat16": [4.88, 4.9, 4.8]}  # AMD EPYC, AVX512-BF16
XEON = {"float32": [8.06, 8.1, 8.0], "bfloat16": [12.2, 12.0, 12.3]}  # Intel Xeon, AVX512-BF16, no AMX


def _torch(native: bool, times=EPYC, device: str = "cpu") -> TorchBackend:
    """A PyTorch backend with the hardware and the measurement fixed (no PyTorch imported)."""
    backend = TorchBackend()
    backend.device = device
    backend.native_bfloat16 = lambda: native
    backend.threads = lambda: 1
    backend.measured = 0

    def measure(shape):
        backend.measured += 1
        return times

    backend.measure_step_seconds = measure
    return backend


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MTRL_CACHE_DIR", str(tmp_path / "cache"))


def test_auto_is_bfloat16_only_where_measured_faster_on_torch(tmp_path, monkeypatch):
    assert _torch(True, EPYC).precision("auto") == "bfloat16"
    monkeypatch.setenv("MTRL_CACHE_DIR", str(tmp_path / "another machine"))  # same CPU name here
    xeon = _torch(True, XEON)
    choice = xeon.choose_precision("auto")
    assert choice.precision == "float32" and xeon.measured == 1
    assert "bfloat16 is 0.66x as fast, less than the 1.1x it must gain" in choice.reason
    assert choice.calibration["median_step_seconds"] == {"float32": 8.06, "bfloat16": 12.2}
    for backend in (JaxBackend(), TensorFlowBackend()):
        assert backend.precision("auto") == "float32"


def test_auto_measures_once_per_machine_then_reads_the_cache():
    first, second = _torch(True, EPYC), _torch(True, XEON)
    assert first.precision("auto") == "bfloat16" and first.measured == 1
    assert second.precision("auto") == "bfloat16" and second.measured == 0  # the cached EPYC times


def test_auto_without_native_bfloat16_is_float32_and_not_measured():
    backend = _torch(False)
    choice = backend.choose_precision("auto")
    assert choice.precision == "float32" and backend.measured == 0
    assert "no AVX512-BF16/AMX-BF16 instructions (not measured)" in choice.reason


def test_auto_on_a_cuda_gpu_is_bfloat16_where_supported():
    gpu = _torch(True, XEON, device="cuda")
    assert gpu.choose_precision("auto").reason == "the CUDA GPU supports bfloat16" and gpu.measured == 0
    assert _torch(True, XEON, device="cuda").precision("auto") == "bfloat16"
    assert _torch(False, device="cuda").precision("auto") == "float32"


def test_explicit_precision_is_honoured_and_says_so():
    backend = _torch(True, XEON)
    assert backend.precision("bfloat16") == "bfloat16" and backend.measured == 0
    assert backend.choose_precision("float32").reason == "set in the config (precision: float32)"
    assert JaxBackend().precision("bfloat16") == "bfloat16"


def test_hardware_note_only_for_bfloat16_without_native_support():
    assert _torch(True).hardware_note("bfloat16") is None
    assert _torch(False).hardware_note("float32") is None
    assert "no native bfloat16" in _torch(False).hardware_note("bfloat16")
    assert JaxBackend().hardware_note("bfloat16") is None


def test_unknown_precision_is_named():
    with pytest.raises(ValueError, match=r"precision 'half' is not one of auto, float32, bfloat16"):
        _torch(True).precision("half")


def test_cpu_flags_and_model_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC 9R14 96-Core Processor\n"
        "flags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n"
    )
    flags = cpu_flags(str(info))
    assert "avx512_bf16" in flags and "sse2" in flags
    assert cpu_has_bfloat16(flags)
    assert not cpu_has_bfloat16(frozenset({"avx2", "avx512f"}))
    assert cpu_flags(str(tmp_path / "absent")) == frozenset()
    assert cpu_model_name(str(info)) == "AMD EPYC 9R14 96-Core Processor"
    assert cpu_model_name(str(tmp_path / "absent"))  # the platform's name instead
