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
