"""Checks of replicate groups trained stacked on PyTorch (mtrl.group), in a process of its own.

Run by tests/test_replicate_groups.py: ``python tests/replicate_group_checks.py PREPARED`` exits
non-zero on the first failed assertion and prints ``ok ...`` after each check.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtrl.runtime import configure

configure("torch", threads=1)

import json  # noqa: E402
import tempfile  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mtrl.errors import ReplicateError  # noqa: E402
from mtrl.group import train_group  # noqa: E402
from mtrl.spec import RunSpec  # noqa: E402
from mtrl.train import train_run  # noqa: E402

PREPARED = sys.argv[1]
TASKS = ["t_target", "t_close", "t_reg"]


def spec(seed: int, **kw) -> RunSpec:
    settings = dict(
        tasks=TASKS, target="t_target", n_train=120, seed=seed, sharing_mask=[True, False, True, False],
        widths=(32, 16, 16, 8), dropout=(0.0, 0.0, 0.5, 0.5), max_epochs=6, patience=6, batch_size=32,
        auxiliary_use_all_labels=True, precision="float32",
    )  # fmt: skip
    settings.update(kw)
    return RunSpec(**settings)


def group(seeds, engine="stacked", **kw):
    """Train seeds as one group; per seed: (metrics.json, history, the saved model's weights)."""
    root = Path(tempfile.mkdtemp())
    specs = [spec(s, **kw) for s in seeds]
    outputs = [
        {k: root / f"seed{s}" / name for k, name in zip(("model", "history", "metrics"), FILES, strict=True)}
        for s in seeds
    ]
    for out in outputs:
        out["model"].parent.mkdir(parents=True)
    train_group(PREPARED, specs, outputs, "torch", engine=engine)
    return {s: _read(out) for s, out in zip(seeds, outputs, strict=True)}


FILES = ("model.keras", "history.csv", "metrics.json")


def _read(out):
    model = keras.saving.load_model(out["model"])
    return json.loads(out["metrics"].read_text()), pd.read_csv(out["history"]), model.get_weights()


def close(a, b, tol):
    (ma, ha, wa), (mb, hb, wb) = a, b
    assert list(ha.columns) == list(hb.columns), (list(ha.columns), list(hb.columns))
    assert ha.shape == hb.shape, (ha.shape, hb.shape)
    assert np.allclose(ha.to_numpy(), hb.to_numpy(), rtol=0, atol=tol), (ha - hb).abs().max().max()
    assert all(np.allclose(x, y, rtol=0, atol=tol) for x, y in zip(wa, wb, strict=True))
    for task in TASKS:
        for key, value in ma["metrics"]["test"][task]["model"].items():
            assert abs(value - mb["metrics"]["test"][task]["model"][key]) <= 10 * tol, (task, key)


def check_group_equals_its_seeds_alone() -> None:
    """A replicate's outputs do not depend on the group it trains in (same arithmetic per slot)."""
    together = group([1, 2, 3])
    for seed in (1, 3):
        close(together[seed], group([seed])[seed], 1e-5)
    print("ok a group's runs equal the same seeds trained alone")


def check_stacks_within_a_memory_budget() -> None:
    """A group larger than its memory budget trains in several stacks, with the same results."""
    from mtrl.backends.torch import stacked

    budget = stacked.stack_budget
    stacked.stack_budget = lambda: 16 * 2 * 12_000  # two replicates of this network (~11,900 weights)
    try:
        split = group([1, 2, 3])
    finally:
        stacked.stack_budget = budget
    assert [split[s][0]["training"]["group"]["stack"] for s in (1, 2, 3)] == [[1, 2], [1, 2], [3]]
    close(split[3], group([3])[3], 1e-5)
    print("ok a group trains in stacks that fit its memory budget")


def check_stack_budget_of_the_device() -> None:
    """A stack holds STACK_MEMORY on a CPU and a share of the free memory of a CUDA GPU."""
    import torch

    from mtrl.backends.torch import stacked

    budget = stacked.stack_budget()
    if keras.ops.zeros(()).device.type == "cuda":
        total = torch.cuda.mem_get_info()[1]
        assert stacked.STACK_MEMORY <= budget <= total * stacked.GPU_STACK_SHARE, budget
    else:
        assert budget == stacked.STACK_MEMORY, budget
    print(f"ok a stack may hold {budget / 2**20:.0f} MiB on {keras.ops.zeros(()).device}")


def check_stacked_equals_the_one_run_path_without_dropout() -> None:
    """Without dropout (the only random stream the paths draw differently) a stacked replicate
    trains like the one-run Keras path: same initial weights, batch order and arithmetic."""
    kw = dict(dropout=(0.0, 0.0, 0.0, 0.0), max_epochs=3)
    stacked = group([5, 6], **kw)[6]
    root = Path(tempfile.mkdtemp())
    out = {k: root / name for k, name in zip(("model", "history", "metrics"), FILES, strict=True)}
    train_run(PREPARED, spec(6, **kw), out["model"], out["history"], out["metrics"], "torch")
    close(stacked, _read(out), 1e-4)
    print("ok without dropout a stacked replicate equals the one-run path")


def check_bitwise_reproducible() -> None:
    first, second = group([7, 8]), group([7, 8])
    for seed in (7, 8):
        (ma, ha, wa), (mb, hb, wb) = first[seed], second[seed]
        assert ma["metrics"] == mb["metrics"] and ha.equals(hb)
        assert all(np.array_equal(x, y) for x, y in zip(wa, wb, strict=True))
    print("ok a replicate is bitwise reproducible from its seed for a given group")


def check_early_stopping_per_replicate() -> None:
    """With patience 1 the replicates stop at different epochs; each keeps its best epoch's
    weights (its saved model's validation loss is its history's best) while the others train on."""
    runs = group([1, 2, 3, 4], max_epochs=30, patience=1)
    epochs = {s: m["training"]["epochs_trained"] for s, (m, _, _) in runs.items()}
    assert len(set(epochs.values())) > 1, epochs
    for seed, (metrics, history, _) in runs.items():
        best = metrics["training"]["best_epoch"]
        assert len(history) == epochs[seed] and metrics["training"]["stopped_early"]
        assert best == int(history["val_t_target_loss"].idxmin()) + 1
        saved_loss = metrics["metrics"]["val"]["t_target"]["model"]["log_loss"]
        assert abs(saved_loss - history["val_t_target_loss"][best - 1]) < 1e-4, (seed, saved_loss)
    print(f"ok each replicate stops on its own and keeps its best weights (epochs {epochs})")


def check_failing_replicate_names_its_seed() -> None:
    from mtrl.backends.torch.stacked import network

    original = network.StackedNetwork.set_replicate

    def poisoned(self, slot, model):
        original(self, slot, model)
        if slot == 1:  # the second seed of the group starts from non-finite weights
            for tensor in self.parameters():
                if tensor.ndim and tensor.shape[0] == self.n_stack:
                    tensor.data[1] = float("nan")

    network.StackedNetwork.set_replicate = poisoned
    try:
        group([11, 12, 13])
    except ReplicateError as err:
        assert "replicate seed 12 " in str(err) and "NonFiniteLossError" in str(err), str(err)
    else:
        raise AssertionError("a replicate with non-finite weights did not fail its group")
    finally:
        network.StackedNetwork.set_replicate = original
    print("ok a failing replicate fails its group, naming its seed")


if __name__ == "__main__":
    check_group_equals_its_seeds_alone()
    check_stacks_within_a_memory_budget()
    check_stack_budget_of_the_device()
    check_stacked_equals_the_one_run_path_without_dropout()
    check_bitwise_reproducible()
    check_early_stopping_per_replicate()
    check_failing_replicate_names_its_seed()
