"""Replicate groups trained stacked in one loop on PyTorch (:mod:`mtrl.group`).

:func:`group_engine` says whether a run's group can train stacked (a network of Dense and Dropout
layers, i.e. hard sharing; a constant loss weighting; Adam); :func:`train_stacked_group` trains
it: each replicate starts from the weights its seed gives on the one-run path and visits its
rows in the same order, and ends as a plain Keras model written like any run's
(:func:`mtrl.train.finish_run`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtrl.architectures import architecture_of
from mtrl.architectures.hard import HardSharing
from mtrl.data.prepared import PreparedData
from mtrl.group import replicate_errors, train_sequentially
from mtrl.spec import RunSpec

ENGINE = "stacked"


def group_engine(spec: RunSpec):
    """:func:`train_stacked_group` where ``spec``'s group can train stacked, else None."""
    from mtrl import weightings

    if spec.optimizer != "adam" or not weightings.weighting_of(spec).constant:
        return None
    if not isinstance(architecture_of(spec), HardSharing):
        return None
    return train_stacked_group


def train_stacked_group(
    data: PreparedData,
    specs: Sequence[RunSpec],
    outputs: Sequence[Mapping[str, str | Path]],
    backend: str,
    study_numerics: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Train the group stacked and write each run's outputs (:func:`mtrl.group.train_group`)."""
    import torch

    from mtrl import backends, weightings
    from mtrl.backends.torch.stacked.batches import StackedSplit
    from mtrl.backends.torch.stacked.loop import ReplicateState, train_stacked
    from mtrl.backends.torch.stacked.network import StackedNetwork
    from mtrl.data.batches import EpochOrder
    from mtrl.run_inputs import prepare_run_inputs
    from mtrl.train import RunPaths, finish_run, monitor_of, network_builder, run_precision

    impl = backends.get(backend)
    impl.import_keras()
    t_start = time.perf_counter()
    impl.prepare_process()
    inputs = []
    for spec in specs:
        with replicate_errors(spec, specs):
            inputs.append(prepare_run_inputs(data, spec))
    if len({len(i.train_rows) for i in inputs}) > 1 or len({len(i.data.rows("val")) for i in inputs}) > 1:
        logging.getLogger("mtrl").info(
            "replicate group of seeds %s: their training or validation rows differ in number, so "
            "they train one after the other",
            [s.seed for s in specs],
        )
        return train_sequentially(data, specs, outputs, backend, study_numerics)
    spec = specs[0]
    input_dim = data.dataset.features.shape[1]
    precision = run_precision(impl, spec, input_dim, study_numerics)
    network = template = None
    for slot, (run, run_inputs) in enumerate(zip(specs, inputs, strict=True)):
        impl.seed(run.seed)  # the weights the seed gives on the one-run path
        model = network_builder(run, run_inputs.tasks, input_dim)()
        if network is None:
            autocast = "bfloat16" if precision == "bfloat16" else None
            network, template = StackedNetwork(model, len(specs), autocast), model
        network.set_replicate(slot, model)
    device = network.device
    states = [
        ReplicateState(
            seed=run.seed,
            order=EpochOrder(len(i.train_rows), True, run.seed),
            generator=torch.Generator(device=device).manual_seed(run.seed),
        )
        for run, i in zip(specs, inputs, strict=True)
    ]
    features, transform = data.dataset.features, spec.feature_transform
    train = StackedSplit(
        features, [i.train_rows for i in inputs], [i.train_targets for i in inputs], transform
    )
    val = StackedSplit(
        features, [i.data.rows("val") for i in inputs], [i.val_targets for i in inputs], transform
    )
    monitor = monitor_of(spec, inputs[0], data)
    t_fit = time.perf_counter()
    train_stacked(
        network,
        train,
        val,
        inputs[0].tasks,
        states,
        batch_size=spec.batch_size,
        max_epochs=spec.max_epochs,
        patience=spec.patience,
        monitor=monitor,
        learning_rate=spec.learning_rate,
        loss_weights=weightings.weighting_of(spec).loss_weights(0, {}),
    )
    t_end = time.perf_counter()
    for run, state in zip(specs, states, strict=True):
        if state.error is not None:
            with replicate_errors(run, specs):
                raise state.error
    group = {"engine": ENGINE, "seeds": [s.seed for s in specs], "training_seconds": round(t_end - t_fit, 3)}
    share = {"setup": (t_fit - t_start) / len(specs), "training": (t_end - t_fit) / len(specs)}
    results = []
    for run, run_inputs, state, out in zip(specs, inputs, states, outputs, strict=True):
        with replicate_errors(run, specs):
            network.load_into(template, state.best_weights)
            paths = RunPaths(out["model"], out["history"], out["metrics"])
            history = dict(sorted(state.history.items()))
            results.append(
                finish_run(
                    template, run, run_inputs, history, monitor, paths, backend, precision, share, group
                )
            )
    return results
