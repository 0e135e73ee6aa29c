"""`make bench`: run every benchmark (not part of `make test`); results in results/bench/*.json.

The GPU benchmark (gpu.py) runs where a GPU is visible (mtrl.runtime's probe: CUDA/SLURM
variables or the NVIDIA driver's device files).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mtrl.runtime import has_gpu_hint  # noqa: E402  (after the path set-up)

scripts = ["bench_prepare.py", "bench_training.py", "bench_study.py", "verdicts.py"] + (
    ["gpu.py"] if has_gpu_hint() else []
)
for script in scripts:
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
