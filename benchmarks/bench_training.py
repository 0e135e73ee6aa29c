"""Training-speed benchmark (not a test): seconds per epoch of the study's network, per path.

For each (model: a sharing entry, i.e. a hard-sharing preset such as low / high, or a soft-sharing
architecture: cross_stitch, mmoe, cgc, ple with the schema's default options) x (path:
backend/precision, i.e. Keras fit on TensorFlow, JAX or PyTorch in float32 or bfloat16, plus
``loop/bfloat16``, a hand-written PyTorch loop as the reference, for hard masks only) it trains the
study's network (5,000 inputs, ~90 non-zeros a row, 1024-512-256-128, 3 binary tasks, dropout 0.5,
Adam, batch 128) on 25,000 synthetic rows in a FRESH process, and
reports the median of the epoch times over interleaved repeats (epoch 1, which compiles, is left
out), rows per second, the speed-up over plain Keras/TF float32 fit of the same model, peak RSS
and the start-up (``import keras``) time. The limit of a path is the step's matmul FLOPs at the
best matmul throughput measured here (PyTorch/oneDNN, float32 and bfloat16, at the model's shapes)
plus one fused Adam step per batch. Loss weightings (``--weightings``, default ``uw`` and
``upgrad``) add rows ``<path>/<model>+<weighting>`` of the first model on every path that trains
them (gradient methods: PyTorch only), the same network as ``<path>/<model>``; a gradient method's
step takes one backward pass per task, so its limit adds a backward pass through the shared layers
per further task. (The default study's wall time and split: ``bench_study.py``.)

    .venv/bin/python benchmarks/bench_training.py [--rows 25000] [--repeats 3] [--epochs 3]
        [--paths tensorflow/float32,torch/bfloat16,...] [--models low,high,cross_stitch,mmoe,cgc,ple]
        [--weightings uw,upgrad]

Writes results/bench/training.json and prints a table. Absolute times drift on shared machines;
compare ratios from one run.
"""

from __future__ import annotations

import argparse
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
backend, precision, sharing = sys.argv[1], sys.argv[2], sys.argv[3]
loop = backend == "loop"  # the hand-written PyTorch loop (reference, not a Keras path)
backend = "torch" if loop else backend
rows, epochs, threads = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
configure(backend, threads=threads)
from mtrl import backends
impl = backends.get(backend)
keras = impl.import_keras()
impl.prepare_process()  # as mtrl's jobs (mtrl.train.train_run) do; the loop gets it too
t_import = time.perf_counter() - t0
import numpy as np
from mtrl.data.batches import BatchSource, TaskTargets
from mtrl.tasks import TaskSpec
from mtrl.backends.host_batches import keras_dataset
from mtrl.train import RunSpec, network_builder
from benchmarks.bench_data import load_data
from benchmarks.bench_training import network_fields

features, labels = load_data(rows)
tasks = [TaskSpec(f"t{i}", "binary") for i in range(3)]
targets = {t.slug: TaskTargets(labels[t.name].astype("float32").reshape(-1, 1), np.ones(rows, bool)) for t in tasks}
spec = RunSpec(tasks=[t.name for t in tasks], target="t0", n_train=rows, seed=0, precision=precision,
               dropout=(0, 0, 0.5, 0.5), **network_fields(sharing))
impl.seed(0)
times = []
if loop:
    from benchmarks.torch_loop import train_epochs
    source = BatchSource(features, np.arange(rows), targets, 128)
    times = train_epochs(keras_dataset(source, shuffle=True, seed=0), spec.sharing_mask, epochs)
else:  # a weighting's trainer adds its own callback (the weights of each epoch) inside fit
    model, trainer = impl.build_trainer(network_builder(spec, tasks, 5000), spec, tasks, precision)
    # the batches the product feeds this path: dense, or their non-zeros (PyTorch on a CPU)
    source = BatchSource(features, np.arange(rows), targets, 128, sparse=impl.reads_sparse_batches(trainer))
    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()
        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)
    trainer.fit(keras_dataset(source, shuffle=True, seed=0), epochs=epochs, verbose=0, callbacks=[Timer()])
print(json.dumps({"epoch_seconds": times, "import_seconds": t_import,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_LIMIT = r"""
import json, sys, time
from mtrl.runtime import configure
configure("torch", threads=int(sys.argv[1]))
import torch
out = {}
# forward shapes of one batch of 128, and the backward ones (weight and input gradients)
forward = [(128, 5000, 1024), (128, 1024, 512), (128, 512, 256), (128, 256, 128)]
backward = [(k, 128, n) for m, k, n in forward] + [(128, n, k) for m, k, n in forward[1:]]
def gflops(shapes, dtype, reps=30):
    flops = secs = 0.0
    for m, k, n in shapes:
        a = torch.randn(m, k, dtype=dtype); b = torch.randn(k, n, dtype=dtype)
        for _ in range(3):
            a @ b
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        secs += (time.perf_counter() - t) / reps
        flops += 2 * m * k * n
    return flops / secs / 1e9
for dtype in ("float32", "bfloat16"):
    out[f"matmul_gflops_{dtype}"] = gflops(forward + backward, getattr(torch, dtype))
# one fused Adam step over the weights of each model (float32 weights)
for name, n in json.loads(sys.argv[2]).items():
    params = [torch.zeros(n)]
    grads = [torch.randn(n)]
    m = [torch.zeros(n)]; v = [torch.zeros(n)]; step = [torch.tensor(1.0)]
    for _ in range(3):
        torch._fused_adam_(params, grads, m, v, [], step, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-7, amsgrad=False, maximize=False)
    reps = 30
    t = time.perf_counter()
    for _ in range(reps):
        torch._fused_adam_(params, grads, m, v, [], step, lr=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-7, amsgrad=False, maximize=False)
    out[f"adam_step_seconds_{name}"] = (time.perf_counter() - t) / reps
print(json.dumps(out))
"""


def child(code: str, *args: str, check: bool = True) -> dict:
    """Run ``code`` in a fresh Python process; its last stdout line is the JSON result.

    A failure raises, or with ``check=False`` comes back as ``{"error": <end of stderr>}``.
    """
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=path),
        cwd=REPO,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        error = proc.stderr[-3000:] or f"exit status {proc.returncode}, no output"
        if check:
            raise RuntimeError(error)
        return {"error": error}
    return json.loads(lines[-1])


PATHS = "tensorflow/float32,jax/float32,torch/float32,torch/bfloat16,jax/bfloat16,tensorflow/bfloat16,loop/bfloat16"
LAYERS = [(5000, 1024), (1024, 512), (512, 256), (256, 128)]
#: the benchmark's network: the study's widths and dropout
WIDTHS, DROPOUT = tuple(n for _, n in LAYERS), (0.0, 0.0, 0.5, 0.5)


def architecture_defaults(name: str) -> dict:
    """The options of soft-sharing architecture ``name`` as the schema defaults them."""
    from mtrl.schema import load_schema

    block = load_schema()["properties"]["architectures"]["properties"][name]["properties"]
    return {option: rule["default"] for option, rule in block.items()}


def network_fields(model: str) -> dict:
    """The ``RunSpec`` fields of benchmark model ``model``: a preset's mask or an architecture,
    and the weighting of ``<preset or architecture>+<weighting>`` (``low+uw``)."""
    from mtrl.architectures import swept_architectures
    from mtrl.architectures.presets import BUILTIN_PRESETS
    from mtrl.sharing import split_entry

    network, weighting = split_entry(model)
    if network in swept_architectures():
        fields = {"architecture": network, "architecture_options": architecture_defaults(network)}
    else:
        fields = {"sharing_mask": [bool(v) for v in BUILTIN_PRESETS[network]]}
    return {**fields, "weighting": weighting}


def model_size(model: str, tasks: int = 3) -> tuple[int, int]:
    """(matmul FLOPs of one row's training step, trainable parameters) of the benchmark's network.

    A step is the forward pass plus the backward pass's weight gradients and input gradients;
    the first layers (those that read the input) need no input gradient. Hard-sharing masks: the
    exact products; an architecture: 2 FLOPs per weight and pass, its first layers' weights found
    as the part of its (closed-form) parameter count that grows with the input's width (the
    mixing of experts and towers, a few FLOPs per activation, is left out). ``model``: a preset or
    an architecture, or either with a weighting (``low+uw``); a gradient method's step has one
    backward pass per task through the shared weights (of an architecture: counted as if every
    weight were shared, an upper bound).
    """
    from mtrl.architectures import swept_architectures
    from mtrl.architectures.presets import BUILTIN_PRESETS
    from mtrl.sharing import split_entry
    from mtrl.weightings import get as weighting_class

    network, weighting = split_entry(model)
    backward_passes = tasks if weighting_class(weighting).uses_gradients else 1
    if network in swept_architectures():
        from mtrl.architectures import create
        from mtrl.tasks import TaskSpec

        arch = create(network, WIDTHS, DROPOUT, **architecture_defaults(network))
        specs = [TaskSpec(f"t{i}", "binary") for i in range(tasks)]
        dim = LAYERS[0][0]
        params = arch.parameter_count(dim, specs)
        first = dim * (arch.parameter_count(dim + 1, specs) - params)
        head = arch.output_dim(dim)
        flops = 2 * (1 + backward_passes) * first + 2 * (1 + 2 * backward_passes) * (params - first)
        return flops + 6 * head * tasks, params + (head + 1) * tasks
    flops = params = 0
    for depth, ((k, n), shared) in enumerate(zip(LAYERS, BUILTIN_PRESETS[network], strict=True)):
        copies = 1 if shared else tasks
        backward = (1 if depth == 0 else 2) * (backward_passes if shared else 1)
        flops += 2 * k * n * copies * (1 + backward)
        params += (k + 1) * n * copies
    return flops + 6 * 128 * tasks, params + 129 * tasks


def weighting_configs(paths: list[str], model: str, weightings: list[str]) -> list[tuple[str, str]]:
    """(path, ``<model>+<weighting>``) for each weighting on each Keras path that trains it
    (``model``: a preset or an architecture)."""
    from mtrl.weightings import supports_backend

    return [
        (path, f"{model}+{name}")
        for name in weightings
        for path in paths
        if not path.startswith("loop/") and supports_backend(name, path.split("/")[0])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--paths", default=PATHS, help="backend/precision pairs; loop = hand-written PyTorch")
    parser.add_argument("--models", default="low,high,cross_stitch,mmoe,cgc,ple")
    parser.add_argument(
        "--weightings", default="uw,upgrad", help="loss weightings (first model); '' for none"
    )
    parser.add_argument("--out", default=str(REPO / "results/bench/training.json"))
    args = parser.parse_args()
    paths = args.paths.split(",")
    models = args.models.split(",")
    # the hand-written loop builds hard-sharing masks only
    configs = [(p, m) for m in models for p in paths if not (p.startswith("loop/") and _is_arch(m))]
    configs += weighting_configs(paths, models[0], [w for w in args.weightings.split(",") if w])
    samples: dict[str, list] = {f"{p}/{m}": [] for p, m in configs}
    starts: dict[str, list] = {p: [] for p in paths}
    rss: dict[str, float] = {}
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_data import load_data
    from mtrl.sharing import split_entry

    load_data(args.rows)  # generate and cache the data set once, outside the timed processes
    for repeat in range(args.repeats):  # interleaved: every configuration once per round
        for path, sharing in configs:
            backend, precision = path.split("/")
            res = child(
                _CHILD, backend, precision, sharing, str(args.rows), str(args.epochs), str(args.threads)
            )
            samples[f"{path}/{sharing}"].extend(res["epoch_seconds"][1:])
            starts[path].append(res["import_seconds"])
            rss[f"{path}/{sharing}"] = max(rss.get(f"{path}/{sharing}", 0), res["peak_rss_mib"])
            print(f"round {repeat + 1}: {path}/{sharing}: {res['epoch_seconds']}", flush=True)
    sizes = {m: model_size(m) for m in dict.fromkeys(m for _, m in configs)}
    hardware = child(
        _LIMIT, str(args.threads), json.dumps({m.replace("+", "_"): p for m, (_, p) in sizes.items()})
    )
    best_gflops = max(hardware["matmul_gflops_float32"], hardware["matmul_gflops_bfloat16"])
    steps = -(-args.rows // 128)
    table = {}
    for key, values in samples.items():
        path, sharing = key.rsplit("/", 1)
        median = statistics.median(values)
        reference = samples.get(f"tensorflow/float32/{split_entry(sharing)[0]}")  # plain fit, same network
        # the limit: matmul FLOPs at the best matmul throughput + one fused Adam step per batch
        limit = (
            sizes[sharing][0] * args.rows / (best_gflops * 1e9)
            + steps * hardware[f"adam_step_seconds_{sharing.replace('+', '_')}"]
        )
        table[key] = {
            "seconds_per_epoch": round(median, 3),
            "rows_per_second": round(args.rows / median),
            "speedup_vs_tensorflow_fit": round(statistics.median(reference) / median, 2)
            if reference
            else None,
            "limit_seconds": round(limit, 3),
            "times_the_limit": round(median / limit, 2),
            "peak_rss_mib": round(rss[key]),
            "epoch_seconds": [round(v, 3) for v in values],
        }
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "cpu_bf16": _cpu_bf16(),
            "python": platform.python_version(),
        },
        "rows": args.rows,
        "threads": args.threads,
        "repeats": args.repeats,
        "paths": table,
        "startup_seconds": {p: round(statistics.median(v), 2) for p, v in starts.items()},
        "hardware": {k: round(v, 5 if "seconds" in k else 1) for k, v in hardware.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{'path':32} {'s/epoch':>8} {'rows/s':>8} {'vs TF':>6} {'limit s':>8} {'x limit':>8} {'RSS MiB':>8}"
    )
    for key, row in table.items():
        print(
            f"{key:32} {row['seconds_per_epoch']:8.2f} {row['rows_per_second']:8d} "
            f"{row['speedup_vs_tensorflow_fit'] or 0:6.2f} {row['limit_seconds']:8.2f} "
            f"{row['times_the_limit']:8.2f} {row['peak_rss_mib']:8d}"
        )
    print("start-up (import keras) seconds:", result["startup_seconds"])
    print("hardware (PyTorch, model shapes):", result["hardware"])


def _is_arch(model: str) -> bool:
    from mtrl.architectures import swept_architectures
    from mtrl.sharing import split_entry

    return split_entry(model)[0] in swept_architectures()


def _cpu_bf16() -> bool:
    from mtrl.precision import cpu_has_bfloat16

    return cpu_has_bfloat16()


if __name__ == "__main__":
    main()
