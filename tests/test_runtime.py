import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_FAULTS = r"""
import resource, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "keep":
    from mtrl.runtime import keep_freed_memory
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def step():  # a training step's large temporaries: three 20 MB gradients, freed together
    blocks = [np.ones(5_000_000, np.float32) for _ in range(3)]
    del blocks
step()
before = faults()
for _ in range(10):
    step()
print(faults() - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning is glibc's")
def test_keep_freed_memory_stops_page_faults_of_repeated_large_blocks():
    def faults(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode, str(REPO)], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    default, kept = faults("default"), faults("keep")
    if default < 1000:  # e.g. transparent huge pages: too few faults to tell the two apart
        pytest.skip(f"only {default} page faults without the setting on this machine")
    # by default freed blocks go back to the system and fault in again (~1,000 faults a step here;
    # ~7,000 a step of the high model's training); kept, they are reused
    assert kept < default / 20, (kept, default)


@pytest.mark.parametrize(
    ("env", "dev", "expected"),
    [
        ({}, ["null", "nvidiactl", "nvidia0"], True),  # a workstation's GPU, no variable set
        ({}, ["null", "tty"], False),
        ({"CUDA_VISIBLE_DEVICES": ""}, ["nvidia0"], False),  # hidden on purpose
        ({"CUDA_VISIBLE_DEVICES": "-1"}, ["nvidia0"], False),
        ({"CUDA_VISIBLE_DEVICES": "0"}, [], True),
        ({"SLURM_JOB_GPUS": "1"}, [], True),
        ({"SLURM_JOB_ID": "7"}, ["nvidia0"], False),  # a CPU job on a GPU node
        ({"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0"}, ["nvidia0"], True),
    ],
)
def test_jax_looks_for_a_gpu_where_one_may_be(monkeypatch, env, dev, expected):
    from mtrl import runtime

    for var in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS", "SLURM_JOB_ID"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setattr(runtime, "_dev_entries", lambda: dev)
    assert runtime.has_gpu_hint() is expected
