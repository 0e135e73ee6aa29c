"""GPU benchmark (not a test): seconds per epoch of the study's ``high`` network on one GPU.

One training job per path, each in a fresh process, on the benchmark's 25,000 synthetic rows
(5,000 inputs, batch 128, Adam, 3 binary tasks, dropout 0.5; no validation, as in
``bench_training.py``); epoch 1 (compilation) is left out, the median of the rest is reported:

- ``jax/host``: Keras ``fit`` on JAX fed host batches (mtrl's path before ``mtrl.backends.jax.device_rows``)
- ``jax/device``: mtrl's path on a JAX accelerator: rows on the device, one compiled call per
  epoch (:mod:`mtrl.backends.jax.device_rows`)
- ``jax/device-bf16``: the same under Keras's ``mixed_bfloat16`` policy
- ``torch/bfloat16``: mtrl's PyTorch path (autocast bfloat16, fused Adam) on CUDA, host batches
- ``scan``: the reference, a hand-written JAX loop (no Keras): dense rows on the device, one
  ``lax.scan`` over an epoch's batches, Adam written out; as fast as plain JAX goes

Then whole mtrl runs (``train_run``: fit with validation and early stopping, evaluation, saving)
of the ``high`` model on synthetic data, on JAX with and without the device rows, each twice (the
second run, another seed of the same size, reuses the first one's compiled programs).

    python benchmarks/gpu.py [--rows 25000] [--epochs 6] [--paths jax/host,...] [--run-rows 5000]
        [--out FILE]

The device machine has JAX and PyTorch but no TensorFlow; carry Keras as a wheel (README,
Performance). Runs on a CPU too (slowly), which is how it is checked before a GPU is lent.
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
PATHS = "scan,jax/device,jax/host,jax/device-bf16,torch/bfloat16"

_KERAS = r"""
import json, sys, time
t0 = time.perf_counter()
from mtrl.runtime import configure
path, rows, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
backend, variant = path.split("/")
configure(backend)
from mtrl import backends
impl = backends.get(backend)
keras = impl.import_keras()
t_import = time.perf_counter() - t0
import numpy as np
from mtrl.data.batches import BatchSource, TaskTargets
from mtrl.architectures.presets import BUILTIN_PRESETS
from mtrl.tasks import TaskSpec
from mtrl.backends.host_batches import keras_dataset
from mtrl.train import RunSpec, network_builder
from benchmarks.bench_data import load_data

features, labels = load_data(rows)
tasks = [TaskSpec(f"t{i}", "binary") for i in range(3)]
ones = np.ones(rows, bool)
targets = {t.slug: TaskTargets(labels[t.name].astype("float32").reshape(-1, 1), ones) for t in tasks}
precision = "bfloat16" if "bf" in variant else "float32"
spec = RunSpec(tasks=[t.name for t in tasks], target="t0", n_train=rows, seed=0, precision=precision,
               sharing_mask=[bool(v) for v in BUILTIN_PRESETS["high"]], dropout=(0, 0, 0.5, 0.5))
impl.seed(0)
device_rows = variant.startswith("device")
network = network_builder(spec, tasks, features.shape[1])
model, trainer = impl.build_trainer(network, spec, tasks, precision, device_rows)
if device_rows:
    from mtrl.backends.jax.device_rows import DeviceRows, RowBatches
    trainer.bind(DeviceRows.of(features, np.arange(rows), targets, "log1p"))
    data = RowBatches(rows, 128, shuffle=True, seed=0)
    trainer.steps_per_execution = len(data)
else:
    sparse = impl.reads_sparse_batches(trainer)
    source = BatchSource(features, np.arange(rows), targets, 128, sparse=sparse)
    data = keras_dataset(source, shuffle=True, seed=0)
times = []
class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        float(logs["loss"])  # waits for the device
        times.append(time.perf_counter() - self.t)
history = trainer.fit(data, epochs=epochs, verbose=0, callbacks=[Timer()])
print(json.dumps({"epoch_seconds": times, "import_seconds": t_import, "loss": history.history["loss"],
                  "device": str(keras.ops.convert_to_tensor(np.zeros(1)).device if backend == "torch"
                                else __import__("jax").devices()[0])}))
"""

_SCAN = r"""
import json, sys, time
import jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, sys.argv[4])
from benchmarks.bench_data import load_data
rows, epochs, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
features, labels = load_data(rows)
x_host = features.toarray().astype(np.float32)
np.log1p(x_host, out=x_host)
X = jax.device_put(x_host)
Y = jax.device_put(np.stack([labels[f"t{i}"] for i in range(3)], 1).astype(np.float32))
widths, shared, rates, tasks = (1024, 512, 256, 128), (False, False, True, True), (0, 0, 0.5, 0.5), 3
key = jax.random.PRNGKey(0)
def dense(key, n_in, n_out):
    limit = (6 / (n_in + n_out)) ** 0.5
    return {"w": jax.random.uniform(key, (n_in, n_out), jnp.float32, -limit, limit), "b": jnp.zeros(n_out)}
params, fan_in = {"layers": [], "heads": []}, X.shape[1]
for width, share in zip(widths, shared):
    copies = 1 if share else tasks
    keys = jax.random.split(jax.random.fold_in(key, width), copies)
    params["layers"].append([dense(k, fan_in, width) for k in keys])
    fan_in = width
params["heads"] = [dense(jax.random.fold_in(key, 7 + i), fan_in, 1) for i in range(tasks)]
def forward(params, x, key):
    towers = [x] * tasks
    for depth, (layer, rate) in enumerate(zip(params["layers"], rates)):
        outs = []
        for i in range(tasks):
            p = layer[0] if len(layer) == 1 else layer[i]
            h = jax.nn.relu(towers[i] @ p["w"] + p["b"])
            if rate:
                keep = jax.random.bernoulli(jax.random.fold_in(key, depth * tasks + i), 1 - rate, h.shape)
                h = jnp.where(keep, h / (1 - rate), 0)
            outs.append(h)
        towers = outs
    return jnp.concatenate([t @ p["w"] + p["b"] for t, p in zip(towers, params["heads"])], 1)
def loss_fn(params, x, y, key):
    logits = forward(params, x, key)
    return jnp.mean(jnp.maximum(logits, 0) - logits * y + jnp.log1p(jnp.exp(-jnp.abs(logits)))) * tasks
def step(carry, positions):
    params, m, v, t, key = carry
    key, sub = jax.random.split(key)
    loss, grads = jax.value_and_grad(loss_fn)(params, X[positions], Y[positions], sub)
    t = t + 1
    m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
    v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
    lr = 1e-3 * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    params = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + 1e-7), params, m, v)
    return (params, m, v, t, key), loss
epoch = jax.jit(lambda carry, blocks: jax.lax.scan(step, carry, blocks), donate_argnums=0)
zeros = jax.tree.map(jnp.zeros_like, params)
carry = (params, zeros, jax.tree.map(jnp.zeros_like, params), jnp.float32(0), key)
rng, n_batches, times, losses = np.random.default_rng(0), rows // batch, [], []
for _ in range(epochs):
    t = time.perf_counter()
    order = rng.permutation(rows)[: n_batches * batch].astype(np.int32)
    blocks = jax.device_put(order.reshape(n_batches, batch))
    carry, loss = epoch(carry, blocks)
    losses.append(float(loss.mean()))
    times.append(time.perf_counter() - t)
print(json.dumps({"epoch_seconds": times, "loss": losses, "device": str(jax.devices()[0])}))
"""


_RUN = r"""
import dataclasses, json, sys, tempfile, time
from pathlib import Path
from mtrl.runtime import configure
configure("jax")
from mtrl.data.dataset import make_split
from mtrl.data.prepared import write_prepared
from mtrl.data.synthetic import generate
from mtrl import backends
from mtrl.architectures.presets import BUILTIN_PRESETS
from mtrl.train import RunSpec, train_run
n_train = int(sys.argv[1])
tasks = {"target": {"kind": "binary", "rho": 1.0}, "close": {"kind": "binary", "rho": 0.9},
         "loud": {"kind": "regression", "rho": 0.5, "mean": -10.0, "sd": 3.0}}
dataset = generate(n_rows=int(n_train / 0.6) + 1, tasks=tasks, seed=0)
out = Path(tempfile.mkdtemp())
write_prepared(out / "p.h5", dataset, make_split(dataset.n_rows, 0.2, 0.2, seed=0), {"source": "synthetic"})
base = RunSpec(tasks=list(tasks), target="target", n_train=n_train, seed=0, max_epochs=30, patience=5,
               sharing_mask=[bool(v) for v in BUILTIN_PRESETS["high"]])
doc = {"uses_device_rows": backends.get("jax").uses_device_rows()}
# a second run (another seed, same size) reuses the first one's compiled programs (same shapes)
for name, device_rows, seed in (("device", None, 0), ("device-again", None, 1),
                                ("host", False, 0), ("host-again", False, 1)):
    spec = dataclasses.replace(base, seed=seed)
    t = time.perf_counter()
    res = train_run(out / "p.h5", spec, out / name / "model.keras", out / name / "history.csv",
                    out / name / "metrics.json", "jax", device_rows=device_rows)
    doc[name] = {"wall_seconds": round(time.perf_counter() - t, 2), **res["training"],
                 "test": {k: v["model"] for k, v in res["metrics"]["test"].items()}}
print(json.dumps(doc))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--paths", default=PATHS)
    parser.add_argument(
        "--run-rows", type=int, default=5000, help="training rows of the whole-run check (0: skip)"
    )
    parser.add_argument("--out", default=str(REPO / "results/bench/gpu.json"))
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_data import load_data
    from benchmarks.bench_training import child

    load_data(args.rows)  # generate and cache the rows once, outside the timed processes
    results = {}
    for path in args.paths.split(","):
        if path == "scan":
            res = child(_SCAN, str(args.rows), str(args.epochs), "128", str(REPO), check=False)
        else:
            res = child(_KERAS, path, str(args.rows), str(args.epochs), check=False)
        if "epoch_seconds" in res:
            res["seconds_per_epoch"] = round(statistics.median(res["epoch_seconds"][1:]), 4)
        results[path] = res
        print(f"{path}: {res.get('seconds_per_epoch')} s/epoch {res.get('epoch_seconds')}", flush=True)
        if "error" in res:
            print(res["error"], flush=True)
    scan = results.get("scan", {}).get("seconds_per_epoch")
    doc = {"machine": _machine(), "rows": args.rows, "epochs": args.epochs, "paths": results}
    if args.run_rows:  # one whole mtrl run (train_run: fit, evaluation, saving), both JAX paths
        doc["run"] = child(_RUN, str(args.run_rows), check=False)
        print("whole runs:", json.dumps(doc["run"]), flush=True)
        for name, run in doc["run"].items():
            if isinstance(run, dict) and "total_seconds" in run:
                print(
                    f"  {name:13} total {run['total_seconds']:6.2f} s, "
                    f"training {run['training_seconds']:6.2f} s, "
                    f"{run['epochs_trained']} epochs, test error {run['test']['target']['error']:.4f}"
                )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\n{doc['machine']}\n{'path':18} {'s/epoch':>8} {'x scan':>7} {'rows/s':>9}")
    for path, res in results.items():
        secs = res.get("seconds_per_epoch")
        if secs is None:
            print(f"{path:18} failed")
            continue
        ratio = f"{secs / scan:7.2f}" if scan else "      -"
        print(f"{path:18} {secs:8.3f} {ratio} {args.rows / secs:9.0f}")


def _machine() -> dict:
    try:
        gpu = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        gpu = ""
    return {"gpu": gpu or None, "cpus": os.cpu_count(), "python": platform.python_version()}


if __name__ == "__main__":
    main()
