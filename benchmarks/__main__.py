"""`make bench`: run every benchmark (not part of `make test`); results in results/bench/*.json."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_prepare.py", "bench_training.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
