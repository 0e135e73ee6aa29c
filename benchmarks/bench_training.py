"""Training-speed benchmark (not a test): seconds per epoch of the study's network, per backend.

For each (model: low / high sharing) x (path: Keras fit on TensorFlow or JAX, float32) it trains
the study's network (5,000 inputs, ~90 non-zeros a row, 1024-512-256-128, 3 binary tasks, dropout
0.5, Adam, batch 128) on 25,000 synthetic rows in a FRESH process, and reports the median of the
epoch times over interleaved repeats (epoch 1, which compiles, is left out), rows per second,
peak RSS and the process start-up (``import keras``) time. It also measures the matmul
throughput at the model's shapes (float32 and bfloat16, JAX/XLA) to put the epoch times against
the machine's limit, and splits the wall time of the last default study (``results/``) into
training and overhead from its metrics and benchmark files.

    .venv/bin/python benchmarks/bench_training.py [--rows 25000] [--repeats 3] [--epochs 3]

Writes results/bench/training.json and prints a table. Absolute times drift on shared machines;
compare ratios from one run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
from mtrl.runtime import configure
backend, sharing, rows, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
configure(backend, threads=threads)
from mtrl.runtime import import_keras, set_seed
keras = import_keras(backend)
t_import = time.perf_counter() - t0
import numpy as np
from mtrl.data.batches import BatchSource, TaskTargets
from mtrl.data.synthetic import generate
from mtrl.model import build_model, compile_model
from mtrl.sharing import BUILTIN_PRESETS
from mtrl.tasks import TaskSpec
from mtrl.train import _keras_dataset

data = generate(n_rows=rows, tasks={f"t{i}": {"kind": "binary", "rho": 0.9 if i else 1.0} for i in range(3)}, seed=0)
tasks = [TaskSpec(f"t{i}", "binary") for i in range(3)]
targets = {t.slug: TaskTargets(data.labels[t.name].astype("float32").reshape(-1, 1), np.ones(rows, bool)) for t in tasks}
source = BatchSource(data.features, np.arange(rows), targets, 128)
set_seed(0, backend)
model = build_model(5000, tasks, (1024, 512, 256, 128), [bool(v) for v in BUILTIN_PRESETS[sharing]], (0, 0, 0.5, 0.5))
compile_model(model, tasks, "adam", 1e-3)
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        times.append(time.perf_counter() - self.t)
model.fit(_keras_dataset(source, shuffle=True, seed=0), epochs=epochs, verbose=0, callbacks=[Timer()])
print(json.dumps({"epoch_seconds": times, "import_seconds": t_import,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_MATMUL = r"""
import json, sys, time
from mtrl.runtime import configure
configure("jax", threads=int(sys.argv[1]))
import jax, jax.numpy as jnp
out = {}
shapes = [(128, 5000, 1024), (128, 1024, 512), (128, 512, 256), (128, 256, 128)]
for dtype in ("float32", "bfloat16"):
    flops = secs = 0.0
    for m, k, n in shapes:
        a = jnp.ones((m, k), dtype); b = jnp.ones((k, n), dtype)
        f = jax.jit(lambda a, b: a @ b)
        f(a, b).block_until_ready()
        reps = 50
        t = time.perf_counter()
        for _ in range(reps):
            f(a, b).block_until_ready()
        secs += (time.perf_counter() - t) / reps
        flops += 2 * m * k * n
    out[dtype] = flops / secs / 1e9
print(json.dumps(out))
"""


def child(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def study_split(results: Path) -> dict | None:
    """Training vs overhead of the last study in ``results`` (from metrics.json and benchmark files)."""
    metrics = glob.glob(str(results / "runs/**/metrics.json"), recursive=True)
    if not metrics:
        return None
    training = sum(json.loads(Path(p).read_text())["training"]["training_seconds"] for p in metrics)
    wall = 0.0
    for path in glob.glob(str(results / "benchmarks/runs/**/*.tsv"), recursive=True):
        lines = Path(path).read_text().splitlines()
        wall += float(lines[-1].split("\t")[0])
    return {
        "runs": len(metrics),
        "job_seconds": round(wall, 1),
        "training_seconds": round(training, 1),
        "overhead_fraction": round(1 - training / wall, 3) if wall else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--out", default=str(REPO / "results/bench/training.json"))
    args = parser.parse_args()
    configs = [(b, s) for s in ("low", "high") for b in args.backends.split(",")]
    samples: dict[str, list] = {f"{b}/{s}": [] for b, s in configs}
    starts: dict[str, list] = {b: [] for b in args.backends.split(",")}
    rss: dict[str, float] = {}
    for repeat in range(args.repeats):  # interleaved: every configuration once per round
        for backend, sharing in configs:
            res = child(_CHILD, backend, sharing, str(args.rows), str(args.epochs), str(args.threads))
            samples[f"{backend}/{sharing}"].extend(res["epoch_seconds"][1:])
            starts[backend].append(res["import_seconds"])
            rss[f"{backend}/{sharing}"] = max(rss.get(f"{backend}/{sharing}", 0), res["peak_rss_mib"])
            print(f"round {repeat + 1}: {backend}/{sharing}: {res['epoch_seconds']}", flush=True)
    matmul = child(_MATMUL, str(args.threads))
    flops_per_row = {}
    for sharing in ("low", "high"):
        layers = [(5000, 1024), (1024, 512), (512, 256), (256, 128)]
        from mtrl.sharing import BUILTIN_PRESETS

        mask = BUILTIN_PRESETS[sharing]
        flops_per_row[sharing] = sum(
            2 * k * n * (1 if shared else 3) for (k, n), shared in zip(layers, mask, strict=False)
        )
    table = {}
    reference = (
        {s: statistics.median(samples[f"tensorflow/{s}"]) for s in ("low", "high")}
        if "tensorflow" in starts
        else {}
    )
    for key, values in samples.items():
        backend, sharing = key.split("/")
        median = statistics.median(values)
        # forward + backward (2x forward) matmul FLOPs at the best matmul throughput measured here
        limit = 3 * flops_per_row[sharing] * args.rows / (max(matmul.values()) * 1e9)
        table[key] = {
            "seconds_per_epoch": round(median, 3),
            "rows_per_second": round(args.rows / median),
            "speedup_vs_tensorflow_fit": round(reference[sharing] / median, 2) if reference else None,
            "matmul_limit_seconds": round(limit, 3),
            "fraction_of_limit": round(limit / median, 3),
            "peak_rss_mib": round(rss[key]),
        }
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "rows": args.rows,
        "threads": args.threads,
        "repeats": args.repeats,
        "paths": table,
        "startup_seconds": {b: round(statistics.median(v), 2) for b, v in starts.items()},
        "matmul_gflops": {k: round(v, 1) for k, v in matmul.items()},
        "default_study": study_split(REPO / "results"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{'path':24} {'s/epoch':>8} {'rows/s':>8} {'vs TF':>6} {'limit s':>8} {'of limit':>8} {'RSS MiB':>8}"
    )
    for key, row in table.items():
        print(
            f"{key:24} {row['seconds_per_epoch']:8.2f} {row['rows_per_second']:8d} "
            f"{row['speedup_vs_tensorflow_fit'] or 0:6.2f} {row['matmul_limit_seconds']:8.2f} "
            f"{row['fraction_of_limit']:8.2f} {row['peak_rss_mib']:8d}"
        )
    print("start-up (import keras) seconds:", result["startup_seconds"])
    print("matmul GFLOP/s at the model's shapes:", result["matmul_gflops"])
    print("default study split:", result["default_study"])


if __name__ == "__main__":
    main()
