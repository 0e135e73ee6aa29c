"""Replicate groups trained stacked in one loop on PyTorch (:mod:`mtrl.group`).

:func:`group_engine` says whether a run's group can train stacked (a network of Dense and Dropout
layers, i.e. hard sharing; a constant loss weighting, not a gradient method; Adam);
:func:`train_stacked_group` trains it: each replicate starts from the weights its seed gives on
the one-run path and visits its rows in the same order, and ends as a plain Keras model written
like any run's (:func:`mtrl.train.finish_run`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtrl.architectures import architecture_of
from mtrl.architectures.hard import HardSharing
from mtrl.data.prepared import PreparedData
from mtrl.group import replicate_errors, stack_setup, train_sequentially
from mtrl.spec import RunSpec

ENGINE = "stacked"
#: bytes of weights, Adam moments and best-epoch weights that one stack may hold on a CPU (a group
#: larger than fits trains in several stacks, one after the other, so that a job's peak RSS stays
#: near the one-run job's plus this: the default study's low and interspersed networks stack 4
#: replicates, high, which gains nothing from stacking on a CPU (README, Performance), 1)
STACK_MEMORY = 512 * 2**20
#: the share of a GPU's memory that one stack may hold (the weights live on the device, so the
#: host's RSS does not grow with the stack)
GPU_STACK_SHARE = 0.25


def group_engine(spec: RunSpec):
    """:func:`train_stacked_group` where ``spec``'s group can train stacked, else None."""
    from mtrl import weightings

    weighting = weightings.weighting_of(spec)
    if spec.optimizer != "adam" or not weighting.constant or weighting.uses_gradients:
        return None  # gradient methods: one backward pass per task (GradientTrainer)
    if not isinstance(architecture_of(spec), HardSharing):
        return None
    return train_stacked_group


def stack_sizes(n_replicates: int, parameters: int, budget: int | None = None) -> list[int]:
    """How many replicates each stack of a group trains at once: as many as fit ``budget`` bytes
    (default :data:`STACK_MEMORY`) of weights, Adam's two moments and the best epoch's weights
    (4 float32 copies of ``parameters``), in stacks as even as possible."""
    budget = STACK_MEMORY if budget is None else budget
    fit = max(1, min(n_replicates, budget // (16 * parameters)))
    n_stacks = -(-n_replicates // fit)
    return [n_replicates // n_stacks + (i < n_replicates % n_stacks) for i in range(n_stacks)]


def stack_budget() -> int:
    """Bytes one stack may hold where Keras trains: :data:`STACK_MEMORY` on a CPU; on a CUDA device
    a share (:data:`GPU_STACK_SHARE`) of its memory (at least :data:`STACK_MEMORY`), so that a group
    stacks alike whatever else holds memory (a replicate's result depends on its stack to float
    tolerance), unless less than that is free."""
    import keras
    import torch

    device = keras.ops.zeros(()).device
    if device.type != "cuda":
        return STACK_MEMORY
    free, total = torch.cuda.mem_get_info(device)
    return max(STACK_MEMORY, min(int(total * GPU_STACK_SHARE), free))


def train_stacked_group(
    data: PreparedData,
    specs: Sequence[RunSpec],
    outputs: Sequence[Mapping[str, str | Path]],
    backend: str,
    study_numerics: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Train the group stacked and write each run's outputs (:func:`mtrl.group.train_group`)."""
    from mtrl.model import count_parameters

    setup = stack_setup(data, specs, backend, study_numerics)
    if setup is None:
        return train_sequentially(data, specs, outputs, backend, study_numerics)
    impl, inputs, precision = setup.impl, setup.inputs, setup.precision
    parameters = count_parameters(setup.input_dim, inputs[0].tasks, architecture_of(specs[0]))
    results, start = [], 0
    for size in stack_sizes(len(specs), parameters, stack_budget()):
        part = slice(start, start + size)
        stack = Stack(specs[part], inputs[part], outputs[part], [s.seed for s in specs])
        results += stack.train(data, impl, backend, precision)
        start += size
        # a stack's Keras models hold reference cycles: free their weights before the next stack
        # is built (else a group of 8 `high` replicates, one a stack, peaks 0.5 GiB higher)
        del stack
        gc.collect()
    return results


class Stack:
    """Replicates of a group trained at once, in one stacked network."""

    def __init__(self, specs, inputs, outputs, group_seeds: list[int]) -> None:
        self.specs, self.inputs, self.outputs, self.group_seeds = (
            list(specs),
            list(inputs),
            list(outputs),
            group_seeds,
        )

    def train(self, data: PreparedData, impl, backend: str, precision: str) -> list[dict[str, Any]]:
        from mtrl import weightings
        from mtrl.backends.torch.stacked.batches import StackedSplit
        from mtrl.backends.torch.stacked.loop import LoopSettings, train_stacked
        from mtrl.train import monitor_of

        t_start = time.perf_counter()
        network, template = self._network(impl, data.dataset.features.shape[1], precision)
        states = self._states(network.device)
        features, spec, inputs = data.dataset.features, self.specs[0], self.inputs
        transform, device = spec.feature_transform, network.device
        train_rows, val_rows = [i.train_rows for i in inputs], [i.data.rows("val") for i in inputs]
        train = StackedSplit(features, train_rows, [i.train_targets for i in inputs], transform, device)
        val = StackedSplit(features, val_rows, [i.val_targets for i in inputs], transform, device)
        monitor = monitor_of(spec, inputs[0], data)
        loss_weights = weightings.weighting_of(spec).loss_weights(0, {})
        settings = LoopSettings(
            spec.batch_size, spec.max_epochs, spec.patience, monitor, spec.learning_rate, loss_weights
        )
        t_fit = time.perf_counter()
        train_stacked(network, train, val, inputs[0].tasks, states, settings)
        seconds = {"setup": t_fit - t_start, "training": time.perf_counter() - t_fit}
        for run, state in zip(self.specs, states, strict=True):
            if state.error is not None:
                with replicate_errors(run, self.specs):
                    raise state.error
        return self._write(network, template, states, monitor, backend, precision, seconds)

    def _network(self, impl, input_dim: int, precision: str):
        """The stacked network, each slot from the initial weights its seed gives on the one-run
        path, and one replicate's Keras model (the template that each is saved through)."""
        from mtrl.backends.torch.stacked.network import StackedNetwork
        from mtrl.train import network_builder

        network = template = None
        for slot, (run, run_inputs) in enumerate(zip(self.specs, self.inputs, strict=True)):
            impl.seed(run.training_seed)
            model = network_builder(run, run_inputs.tasks, input_dim)()
            if network is None:
                autocast = "bfloat16" if precision == "bfloat16" else None
                network, template = StackedNetwork(model, len(self.specs), autocast), model
            network.set_replicate(slot, model)
            if model is not template:
                del model  # its weights are copied: free them now, not at the next cycle collection
                gc.collect()
        return network, template

    def _states(self, device):
        import torch

        from mtrl.backends.torch.stacked.loop import ReplicateState
        from mtrl.data.batches import EpochOrder

        states = []
        for run, run_inputs in zip(self.specs, self.inputs, strict=True):
            order = EpochOrder(len(run_inputs.train_rows), True, run.training_seed)
            # as on the one-run path, where Keras ends an epoch of the PyDataset after the batch its
            # symbolic build reads, before the first: epoch 1 visits the second order
            order.next_epoch()
            generator = torch.Generator(device=device).manual_seed(run.training_seed)
            states.append(ReplicateState(seed=run.seed, order=order, generator=generator))
        return states

    def _write(self, network, template, states, monitor, backend, precision, seconds) -> list[dict[str, Any]]:
        """Each replicate's best weights through the template, written like any run's."""
        from mtrl.train import RunPaths, finish_run

        n = len(self.specs)
        group = {
            "engine": ENGINE,
            "seeds": self.group_seeds,
            "stack": [s.seed for s in self.specs],
            "stack_training_seconds": round(seconds["training"], 3),
        }
        share = {phase: value / n for phase, value in seconds.items()}
        results = []
        for run, run_inputs, state, out in zip(self.specs, self.inputs, states, self.outputs, strict=True):
            with replicate_errors(run, self.specs):
                network.load_into(template, state.best_weights)
                paths = RunPaths(out["model"], out["history"], out["metrics"])
                history = dict(sorted(state.history.items()))
                args = (template, run, run_inputs, history, monitor, paths, backend, precision, share, group)
                results.append(finish_run(*args))
        return results
