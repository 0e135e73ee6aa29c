"""Replicate groups (mtrl.group): a cell's seeds trained in one program.

The stacked PyTorch engine is checked in a process of its own (tests/replicate_group_checks.py);
the group's contract and the one-after-the-other engine here, on the tests' own backend (JAX).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pandas as pd
import pytest

from mtrl import group as groups
from mtrl.errors import ReplicateError
from mtrl.spec import RunSpec
from mtrl.train import train_run
from workflow import REPO

TASKS = ["t_target", "t_close", "t_reg"]


def _spec(seed: int, **kw) -> RunSpec:
    settings = dict(
        tasks=TASKS, target="t_target", n_train=120, seed=seed, sharing_mask=[True, True, False, False],
        widths=(16, 8, 8, 4), max_epochs=3, patience=3, batch_size=32,
    )  # fmt: skip
    return RunSpec(**(settings | kw))


def _outputs(root, seeds):
    outputs = []
    for seed in seeds:
        folder = root / f"seed{seed}"
        folder.mkdir(parents=True)
        outputs.append(
            {
                k: folder / f
                for k, f in (
                    ("model", "model.keras"),
                    ("history", "history.csv"),
                    ("metrics", "metrics.json"),
                )
            }
        )
    return outputs


def test_the_stacked_pytorch_engine(tiny_prepared):
    """tests/replicate_group_checks.py: a group's runs equal the same seeds trained alone (1e-5)
    and, without dropout, the one-run Keras path (1e-4); a replicate is bitwise reproducible; each
    replicate stops early on its own and keeps its best weights while the others train on; a
    replicate whose weights go non-finite fails its group with a message naming its seed; a group
    beyond its memory budget trains in several stacks with the same results; a stack's budget is
    the CPU's (or a share of a CUDA GPU's free memory)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests" / "replicate_group_checks.py"), str(tiny_prepared)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("ok ") == 7, proc.stdout


def test_a_group_one_after_the_other_equals_its_runs_alone(tmp_path, tiny_prepared):
    """On a backend without a stacked path the group trains its runs in turn, each as train_run."""
    seeds = [2, 5]
    results = groups.train_group(
        tiny_prepared, [_spec(s) for s in seeds], _outputs(tmp_path / "g", seeds), "jax"
    )
    assert [r["run"]["seed"] for r in results] == seeds
    alone = tmp_path / "alone"
    alone.mkdir()
    train_run(
        tiny_prepared, _spec(5), alone / "model.keras", alone / "history.csv", alone / "metrics.json", "jax"
    )
    grouped = json.loads((tmp_path / "g" / "seed5" / "metrics.json").read_text())
    assert grouped["metrics"] == json.loads((alone / "metrics.json").read_text())["metrics"]
    assert pd.read_csv(tmp_path / "g" / "seed5" / "history.csv").equals(pd.read_csv(alone / "history.csv"))


def test_a_failing_replicate_fails_its_group_naming_the_seed(tmp_path, tiny_prepared, monkeypatch):
    import mtrl.train

    original = mtrl.train.prepare_run_inputs

    def failing(data, spec):
        if spec.seed == 8:
            raise ValueError("no labelled example")
        return original(data, spec)

    monkeypatch.setattr(mtrl.train, "prepare_run_inputs", failing)
    with pytest.raises(
        ReplicateError, match=r"replicate seed 8 of the group of seeds \[7, 8\] failed.*no labelled"
    ):
        groups.train_group(tiny_prepared, [_spec(7), _spec(8)], _outputs(tmp_path, [7, 8]), "jax")
    assert (tmp_path / "seed7" / "metrics.json").exists()  # the seed before it finished


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "at least one run"),
        ([_spec(1), _spec(1)], r"distinct, got \[1, 1\]"),
        (
            [_spec(1), dataclasses.replace(_spec(1), network=1), dataclasses.replace(_spec(1), network=1)],
            r"distinct, got \[1, 1, 1\]",
        ),
        (
            [_spec(1), dataclasses.replace(_spec(1, n_train=60), network=2)],
            "seed 1, single-task network 2 differs from seed 1 in n_train",
        ),
        ([_spec(1), _spec(2, n_train=60)], "seed 2 differs from seed 1 in n_train"),
        ([_spec(1), dataclasses.replace(_spec(3), widths=(8, 8, 8, 4))], "in widths"),
    ],
)
def test_a_group_is_one_cell(specs, message):
    with pytest.raises(ValueError, match=message):
        groups.check_group(specs)


def test_a_group_may_hold_the_networks_of_its_seeds():
    groups.check_group([_spec(1), dataclasses.replace(_spec(1), network=1), _spec(2)])


def test_a_group_needs_its_outputs_and_a_stacked_path_where_asked(tmp_path, tiny_prepared):
    with pytest.raises(ValueError, match="needs 2 output sets, got 1"):
        groups.train_group(tiny_prepared, [_spec(1), _spec(2)], _outputs(tmp_path / "a", [1]), "jax")
    with pytest.raises(ValueError, match="missing metrics"):
        groups.check_outputs([{"model": "m", "history": "h"}], 1)
    with pytest.raises(ValueError, match="backend 'jax' has no stacked replicate path"):
        groups.train_group(tiny_prepared, [_spec(1)], _outputs(tmp_path / "b", [1]), "jax", engine="stacked")


@pytest.mark.parametrize(
    ("replicates", "parameters", "sizes"),
    [(8, 5_800_000, [4, 4]), (4, 7_000_000, [4]), (5, 17_400_000, [1] * 5), (9, 5_800_000, [5, 4])],
)
def test_stacks_fit_the_memory_budget(replicates, parameters, sizes):
    """The default study's low network (5.8 M weights) and interspersed (7.0 M) stack 4 replicates,
    high (17.4 M) 1: as even as possible within the budget."""
    from mtrl.backends.torch.stacked import STACK_MEMORY, stack_sizes

    assert stack_sizes(replicates, parameters) == sizes
    assert all(16 * parameters * n <= STACK_MEMORY for n in sizes if n > 1)


def _read_run(out):
    import keras

    model = keras.saving.load_model(out["model"])
    return json.loads(out["metrics"].read_text()), pd.read_csv(out["history"]), model.get_weights()


JAX_GROUP = dict(
    sharing_mask=[True, False, True, False], dropout=(0.0, 0.0, 0.5, 0.5), max_epochs=30, patience=1
)


def _train_jax_group(prepared, root, seeds, **kw):
    from mtrl.backends.jax.stacked import train_stacked_group
    from mtrl.data.prepared import read_prepared

    outputs = _outputs(root, seeds)
    specs = [_spec(s, **(JAX_GROUP | kw)) for s in seeds]
    results = train_stacked_group(read_prepared(prepared), specs, outputs, "jax")
    assert [r["training"]["group"]["engine"] for r in results] == ["stacked"] * len(seeds)
    return {s: _read_run(out) for s, out in zip(seeds, outputs, strict=True)}


def test_the_stacked_jax_program_equals_its_runs_alone(tmp_path, tiny_prepared):
    """A group trained as one JAX program (mtrl.backends.jax.stacked: vmap over Keras's own
    train_step, one call per epoch) gives each seed the weights of the one-run device-rows path,
    dropout included, and its history to float rounding; each replicate stops early on its own
    (patience 1: different epochs) and keeps its best epoch's weights while the others train on;
    it is bitwise reproducible for a given group."""
    import numpy as np

    seeds = [1, 2, 3]
    together = _train_jax_group(tiny_prepared, tmp_path / "g", seeds)
    epochs = {s: m["training"]["epochs_trained"] for s, (m, _, _) in together.items()}
    assert len(set(epochs.values())) > 1, epochs
    for seed in (1, 3):
        alone = _outputs(tmp_path / "alone", [seed])[0]
        paths = (alone["model"], alone["history"], alone["metrics"])
        train_run(tiny_prepared, _spec(seed, **JAX_GROUP), *paths, "jax", device_rows=True)
        (mg, hg, wg), (ma, ha, wa) = together[seed], _read_run(alone)
        assert list(hg.columns) == list(ha.columns) and hg.shape == ha.shape, (hg.shape, ha.shape)
        assert np.allclose(hg.to_numpy(), ha.to_numpy(), rtol=0, atol=1e-5)
        assert all(np.allclose(x, y, rtol=0, atol=1e-6) for x, y in zip(wg, wa, strict=True))
        for key in ("epochs_trained", "best_epoch", "stopped_early"):
            assert mg["training"][key] == ma["training"][key], key
        assert mg["training"]["best_epoch"] == int(hg["val_t_target_loss"].idxmin()) + 1
        for task in TASKS:
            for key, value in mg["metrics"]["test"][task]["model"].items():
                assert abs(value - ma["metrics"]["test"][task]["model"][key]) <= 1e-5, (task, key)
    again = _train_jax_group(tiny_prepared, tmp_path / "again", seeds)
    for seed in seeds:
        (ma, ha, wa), (mb, hb, wb) = together[seed], again[seed]
        assert ma["metrics"] == mb["metrics"] and ha.equals(hb)
        assert all(np.array_equal(x, y) for x, y in zip(wa, wb, strict=True))


def test_a_jax_replicate_that_reaches_max_epochs_keeps_its_best_weights(tmp_path, tiny_prepared):
    """Without early stopping (patience beyond max_epochs) a replicate of the JAX program ends
    with its best epoch's weights, as Keras's EarlyStopping restores them at the end of fit."""
    import numpy as np

    kw = dict(max_epochs=4, patience=10)
    together = _train_jax_group(tiny_prepared, tmp_path / "g", [4, 5], **kw)
    alone = _outputs(tmp_path / "alone", [5])[0]
    paths = (alone["model"], alone["history"], alone["metrics"])
    train_run(tiny_prepared, _spec(5, **(JAX_GROUP | kw)), *paths, "jax", device_rows=True)
    (mg, hg, wg), (ma, ha, wa) = together[5], _read_run(alone)
    assert mg["training"]["epochs_trained"] == 4 and not mg["training"]["stopped_early"]
    assert mg["training"]["best_epoch"] == ma["training"]["best_epoch"]
    assert np.allclose(hg.to_numpy(), ha.to_numpy(), rtol=0, atol=1e-5)
    assert all(np.allclose(x, y, rtol=0, atol=1e-6) for x, y in zip(wg, wa, strict=True))


def test_a_failing_replicate_fails_the_jax_program_naming_its_seed(tmp_path, tiny_prepared, monkeypatch):
    from mtrl.backends.jax import stacked

    original = stacked._replica

    def poisoned(impl, spec, *args):
        replica = original(impl, spec, *args)
        if spec.seed == 12:  # the second seed starts from non-finite weights
            kernel = replica.trainer.trainable_variables[0]
            kernel.assign(kernel.value * float("nan"))
        return replica

    monkeypatch.setattr(stacked, "_replica", poisoned)
    with pytest.raises(
        ReplicateError, match=r"replicate seed 12 of the group of seeds \[11, 12, 13\].*NonFinite"
    ):
        _train_jax_group(tiny_prepared, tmp_path, [11, 12, 13])
    assert not list(tmp_path.glob("seed*/metrics.json"))  # nothing written for a failed group


def test_jax_groups_train_as_one_program_where_rows_live_on_an_accelerator(monkeypatch):
    """The JAX backend's stacked engine is for device rows (an accelerator by default) and a
    constant loss weighting; elsewhere a group's runs train one after the other."""
    from mtrl import backends
    from mtrl.backends.jax.stacked import train_stacked_group

    impl = backends.get("jax")
    monkeypatch.setattr(type(impl), "uses_device_rows", lambda self, requested=None: False)
    assert impl.group_engine(_spec(1)) is None
    monkeypatch.setattr(type(impl), "uses_device_rows", lambda self, requested=None: True)
    assert impl.group_engine(_spec(1)) is train_stacked_group
    assert impl.group_engine(_spec(1, weighting="uw")) is None
    assert impl.group_engine(_spec(1, weighting="upgrad")) is None
