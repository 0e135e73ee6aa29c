"""`make bench`: run every benchmark (not part of `make test`); results in results/bench/*.json.

The default study runs twice (bench_study.py): with one training job per run and with the config's
``execution.replicates_per_job`` (study_r1.json, study.json).

The GPU benchmark (gpu.py) runs where a GPU is visible (mtrl.runtime's probe: CUDA/SLURM
variables or the NVIDIA driver's device files).
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mtrl.runtime import has_gpu_hint  # noqa: E402  (after the path set-up)

# the default study twice: one job per run (R = 1), then the config's execution.replicates_per_job
study_r1 = ["bench_study.py", "--replicates-per-job", "1", "--out", "results/bench/study_r1.json"]
scripts = [
    ["bench_prepare.py"],
    ["bench_training.py"],
    ["bench_replicates.py"],
    study_r1,
    ["bench_study.py"],
    ["verdicts.py"],
] + ([["gpu.py"]] if has_gpu_hint() else [])
for script, *args in scripts:
    print(f"== {script} {' '.join(args)}".rstrip(), flush=True)
    subprocess.run([sys.executable, str(HERE / script), *args], check=True, cwd=HERE.parent)
