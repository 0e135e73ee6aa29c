"""Replicate-group benchmark (not a test): seconds per replicate-epoch of one job training R seeds.

For each model (a hard-sharing preset of the default study: low, high) it trains, each in a FRESH
process with one CPU thread (as a training job of the default profile), on the default study's
data (``config.yaml``'s synthetic set, its smallest training size: 100 target labels, the auxiliary
tasks on every training row):

- ``keras-tf/float32``: one run by plain Keras ``fit`` on TensorFlow (the reference);
- ``torch/one-run``: one run on mtrl's PyTorch path (``execution.replicates_per_job: 1``);
- ``torch/stacked R=k``: one job training k seeds stacked (:mod:`mtrl.backends.torch.stacked`);
- with ``--backend jax`` (on an accelerator: JAX stacks a group where its rows live on the
  device), ``jax/one-run`` (the device-rows path) and ``jax/stacked R=k``, the group as one XLA
  program (:mod:`mtrl.backends.jax.stacked`).

and reports the training seconds per replicate-epoch (training time / R / epochs, early stopping
off), the speed-up over the one-run path, and the job's peak RSS. Absolute times drift on shared
machines; compare the ratios of one run.

    .venv/bin/python benchmarks/bench_replicates.py [--models low,high] [--replicates 1,4,8] [--epochs 4]
        [--backend torch|jax]

Writes results/bench/replicates.json and prints a table. On a machine with a CUDA GPU Keras's
PyTorch backend trains there (every path but the TensorFlow reference, which is left out where
TensorFlow is not installed, e.g. ``--data PREPARED.h5 --replicates 1,4,16,32 --epochs 10`` on a
GPU machine without Snakemake); the table then adds the job's peak GPU memory. Where a GPU is
visible (:func:`mtrl.runtime.has_gpu_hint`) ``--replicates`` defaults to ``1,4,16,32``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtrl.runtime import has_gpu_hint  # noqa: E402  (after the path set-up)

_CHILD = r"""
import json, os, resource, shutil, sys, tempfile, time
sys.path.insert(0, {repo!r})
from mtrl.runtime import configure
backend, precision, mask, replicates, epochs, engine, data = {args!r}
configure(backend, threads=1)
from mtrl.group import train_group
from mtrl.spec import RunSpec
import yaml
config = yaml.safe_load(open(os.path.join({repo!r}, "config.yaml")))
couplings = config["couplings"]
specs = [
    RunSpec(tasks=couplings["tight"], target=config["target"], n_train=min(config["train_sizes"]), seed=seed,
            sharing_mask=mask, max_epochs=epochs, patience=epochs + 1, precision=precision,
            auxiliary_use_all_labels=True)
    for seed in range(1, replicates + 1)
]
root = tempfile.mkdtemp()
outputs = [{{k: f"{{root}}/s{{s.seed}}/{{k}}" for k in ("model", "history", "metrics")}} for s in specs]
for out in outputs:
    os.makedirs(os.path.dirname(out["model"]))
    out["model"] += ".keras"
start = time.perf_counter()
results = train_group(data, specs, outputs, backend, engine=engine)
wall = time.perf_counter() - start
import keras
device, gpu_mib = "cpu", None
if backend == "torch":
    device = str(keras.ops.zeros(()).device)
    if device.startswith("cuda"):
        import torch
        gpu_mib = torch.cuda.max_memory_allocated() / 2**20
elif backend == "jax":
    import jax
    first = jax.devices()[0]
    device = str(first) if first.platform != "cpu" else "cpu"
    if first.platform != "cpu":
        gpu_mib = (first.memory_stats() or {{}}).get("peak_bytes_in_use", 0) / 2**20
training = sum(r["training"]["training_seconds"] for r in results)
shutil.rmtree(root)  # the models: up to 70 MB a replicate
print(json.dumps({{
    "replicate_epoch_seconds": training / replicates / epochs,
    "job_seconds_per_replicate": wall / replicates,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "device": device,
    "peak_gpu_mib": gpu_mib,
}}))
"""

MASKS = {"low": [1, 1, 0, 0], "high": [0, 0, 1, 1], "interspersed": [1, 0, 0, 1]}


def prepared_data(path: Path) -> Path:
    """The default study's prepared data (built once)."""
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "snakemake", str(path), "--cores", "1", "--quiet",
             "--configfile", "config.yaml", "--config", f"results={path.parent.parent}"],
            cwd=REPO, check=True,
        )  # fmt: skip
    return path


def measure(args: tuple, data: Path) -> dict:
    code = _CHILD.format(repo=str(REPO), args=(*args, str(data)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="low,high")
    # a GPU: the target is at R = 16; a CPU: the default study's R and twice it
    parser.add_argument("--replicates", default="1,4,16,32" if has_gpu_hint() else "1,4,8")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=str(REPO / "results/bench/replicates.json"))
    parser.add_argument(
        "--backend", choices=("torch", "jax"), default="torch", help="mtrl's paths on this backend"
    )
    parser.add_argument("--data", help="prepared data to train on (default: the default study's, built once)")
    opts = parser.parse_args()
    data = (
        Path(opts.data)
        if opts.data
        else prepared_data(REPO / "results/bench/replicates_data/data/prepared.h5")
    )
    reference = importlib.util.find_spec("tensorflow") is not None
    if not reference:
        print("TensorFlow is not installed: no keras-tf/float32 reference row", flush=True)
    rows = []
    for model in opts.models.split(","):
        mask = MASKS[model]
        paths = []
        if reference:
            paths.append(("keras-tf/float32", ("tensorflow", "float32", mask, 1, opts.epochs, "sequential")))
        backend = opts.backend
        paths.append((f"{backend}/one-run", (backend, "auto", mask, 1, opts.epochs, "sequential")))
        paths += [
            (f"{backend}/stacked R={r}", (backend, "auto", mask, r, opts.epochs, "stacked"))
            for r in map(int, opts.replicates.split(","))
        ]
        for name, args in paths:
            result = measure(args, data)
            rows.append({"model": model, "path": name, **result})
            print(
                f"{model:6s} {name:20s} {result['replicate_epoch_seconds']:.4f} s/replicate-epoch "
                f"on {result['device']}",
                flush=True,
            )
    for row in rows:
        one_run = next(
            r for r in rows if r["model"] == row["model"] and r["path"] == f"{opts.backend}/one-run"
        )
        row["speedup_vs_one_run"] = round(
            one_run["replicate_epoch_seconds"] / row["replicate_epoch_seconds"], 2
        )
    Path(opts.out).parent.mkdir(parents=True, exist_ok=True)
    Path(opts.out).write_text(json.dumps(rows, indent=2))
    gpu = any(r["peak_gpu_mib"] is not None for r in rows)
    extra = " peak GPU memory (MiB) |" if gpu else ""
    print(
        "\n| model | path | device | s / replicate-epoch | vs one run | job s / replicate "
        f"| peak RSS (MiB) |{extra}"
    )
    print("|---|---|---|---|---|---|---|" + ("---|" if gpu else ""))
    for r in rows:
        seconds, speedup = r["replicate_epoch_seconds"], r["speedup_vs_one_run"]
        job, rss = r["job_seconds_per_replicate"], r["peak_rss_mib"]
        memory = f" {r['peak_gpu_mib'] or 0:.0f} |" if gpu else ""
        print(
            f"| {r['model']} | {r['path']} | {r['device']} | {seconds:.4f} | {speedup:.2f}x | {job:.2f} "
            f"| {rss:.0f} |{memory}"
        )


if __name__ == "__main__":
    main()
