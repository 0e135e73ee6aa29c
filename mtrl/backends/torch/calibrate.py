"""The measurement behind ``precision: auto`` on PyTorch: training steps in float32 and bfloat16.

The study's network (:class:`~mtrl.calibration.NetworkShape`) is built and compiled by the
backend's own :meth:`~mtrl.backends.base.Backend.build_trainer` in each precision and trained by
Keras ``fit`` on the inputs :meth:`~mtrl.backends.base.Backend.fit_inputs` cuts from synthetic
sparse rows (about 90 words a row), i.e. on the path the runs take. The two precisions take turns
(``rounds``), so that a machine that slows down mid-way slows both. The decision is
:func:`mtrl.calibration.decide_precision`'s.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.sparse as sp

from mtrl.calibration import NONZEROS_PER_ROW, NetworkShape
from mtrl.data.dataset import Dataset, Split
from mtrl.data.prepared import PreparedData
from mtrl.precision import BFLOAT16, FLOAT32
from mtrl.run_inputs import prepare_run_inputs
from mtrl.spec import RunSpec
from mtrl.tasks import TaskSpec
from mtrl.train import network_builder

TASKS = [TaskSpec(f"t{i}", "binary") for i in range(3)]


def measure_step_seconds(
    backend, shape: NetworkShape, steps: int = 6, rounds: int = 2, warmup: int = 1
) -> dict[str, list[float]]:
    """Seconds of each timed training step per precision (``rounds`` x ``steps`` each; the first
    ``warmup`` steps of every ``fit`` call are left out)."""
    keras = backend.import_keras()
    data = synthetic_data(shape, rows=shape.batch_size * (steps + warmup))
    runs = {}
    for precision in (FLOAT32, BFLOAT16):
        spec = RunSpec(
            tasks=[t.name for t in TASKS],
            target=TASKS[0].name,
            n_train=data.dataset.n_rows,
            seed=0,
            sharing_mask=shape.sharing_mask,
            widths=shape.widths,
            dropout=shape.dropout,
            batch_size=shape.batch_size,
            precision=precision,
        )
        backend.seed(0)
        network = network_builder(spec, TASKS, shape.input_dim)
        _, trainer = backend.build_trainer(network, spec, TASKS, precision)
        inputs = prepare_run_inputs(data, spec)
        runs[precision] = trainer, backend.fit_inputs(trainer, data, inputs, spec)[0]
    times: dict[str, list[float]] = {precision: [] for precision in runs}
    for _ in range(rounds):
        for precision, (trainer, batches) in runs.items():
            times[precision] += _step_seconds(keras, trainer, batches, steps + warmup)[warmup:]
    return times


def _step_seconds(keras, trainer, batches, steps: int) -> list[float]:
    """Train ``steps`` steps of ``batches`` with ``fit``; the seconds from one step's end to the next's."""
    ends: list[float] = []

    class StepClock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if not ends:
                ends.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    trainer.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[StepClock()])
    return [b - a for a, b in itertools.pairwise(ends)]


def synthetic_data(shape: NetworkShape, rows: int, seed: int = 0) -> PreparedData:
    """``rows`` random bag-of-words rows (word counts 1-4) with random binary labels of :data:`TASKS`."""
    rng = np.random.default_rng(seed)
    per_row = min(NONZEROS_PER_ROW, shape.input_dim)
    columns = np.stack([rng.choice(shape.input_dim, per_row, replace=False) for _ in range(rows)])
    columns.sort(axis=1)
    counts = rng.integers(1, 5, rows * per_row).astype(np.float32)
    starts = np.arange(rows + 1) * per_row
    features = sp.csr_matrix((counts, columns.ravel(), starts), shape=(rows, shape.input_dim))
    labels = {t.name: rng.integers(0, 2, rows).astype(np.float64) for t in TASKS}
    dataset = Dataset(features, labels, list(TASKS), np.array([f"row{i}" for i in range(rows)]))
    held_out = np.arange(min(rows, shape.batch_size))
    return PreparedData(dataset, Split(np.arange(rows), held_out, held_out), {"source": "calibration"})
