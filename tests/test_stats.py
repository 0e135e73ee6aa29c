import numpy as np
import pandas as pd
import pytest

from mtrl.aggregate import comparison_table, summary_table
from mtrl.stats.gains import seed_gains, task_relative_improvements
from mtrl.stats.intervals import mean_interval, paired_difference
from mtrl.stats.pairing import NumericsMismatchError, paired_with_single


def test_mean_interval_by_hand():
    # x = 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.302652729911275
    got = mean_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 / np.sqrt(3)
    assert got.mean == 2.0 and got.sd == pytest.approx(1.0)
    assert got.ci_low == pytest.approx(2 - half) and got.ci_high == pytest.approx(2 + half)


def test_mean_interval_of_one_value_has_no_interval():
    got = mean_interval([5.0])
    assert got.mean == 5.0 and np.isnan(got.ci_low)


def test_paired_difference_by_hand():
    # differences 1, 2, 3 -> mean 2, sd 1, t = 2 / (1/sqrt 3) = 3.4641; two-sided p with 2 df = 0.07418
    got = paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    assert got.mean == 2.0 and got.n == 3
    assert got.p_value == pytest.approx(0.0741799, abs=1e-6)


def test_constant_difference_is_not_tested():
    got = paired_difference([2.0, 3.0], [1.0, 2.0])
    assert got.sd == 0 and got.ci_low == got.ci_high == 1.0 and np.isnan(got.p_value)
    assert paired_difference([1.0, 2.0], [1.0, 2.0]).p_value == 1.0


def _runs():
    rows = []
    for seed, (mtl, stl) in enumerate([(0.30, 0.40), (0.32, 0.41), (0.28, 0.39)], start=1):
        common = {
            "n_train": 100,
            "seed": seed,
            "task": "t",
            "is_target": True,
            "split": "test",
            "metric": "error",
            "baseline": 0.5,
        }
        rows.append({"kind": "multitask", "coupling": "tight", "sharing": "low", "value": mtl, **common})
        rows.append({"kind": "single", "coupling": "single", "sharing": "none", "value": stl, **common})
    return pd.DataFrame(rows)


def test_comparison_pairs_by_seed_and_signs_the_gain():
    table = comparison_table(_runs(), "t")
    assert len(table) == 1
    row = table.iloc[0]
    # error: gain = stl - mtl = 0.10, 0.09, 0.11
    assert row["gain_mean"] == pytest.approx(0.10)
    assert row["mtl_mean"] == pytest.approx(0.30) and row["stl_mean"] == pytest.approx(0.40)
    assert row["n_seeds"] == 3
    expected = paired_difference([0.10, 0.09, 0.11], [0.0, 0.0, 0.0])
    assert row["gain_ci_low"] == pytest.approx(expected.ci_low)
    assert row["p_value"] == pytest.approx(expected.p_value)
    assert row["relative_gain"] == pytest.approx(0.25)


def test_summary_over_seeds():
    table = summary_table(_runs())
    tight = table[table["coupling"] == "tight"].iloc[0]
    assert tight["n_seeds"] == 3 and tight["mean"] == pytest.approx(0.30)
    assert tight["sd"] == pytest.approx(0.02)


# --- pairing multi-task runs with their single-task partner ----------------------------------------------


def _row(kind, task, seed, value, split="test", n_train=100, coupling="tight", sharing="low"):
    if kind == "single":
        coupling, sharing = "single", "none"
    return {
        "kind": kind, "coupling": coupling, "sharing": sharing, "n_train": n_train, "seed": seed,
        "task": task, "split": split, "metric": "error", "value": value, "baseline": 0.5,
    }  # fmt: skip


def test_paired_with_single_joins_each_multitask_row_with_its_partner():
    runs = pd.DataFrame([
        _row("single", "t", 1, 0.40),
        _row("single", "t", 2, 0.41),
        _row("single", "u", 1, 0.60),
        _row("single", "t", 1, 0.20, n_train=400),  # no multi-task run of this size
        _row("multitask", "t", 1, 0.30),
        _row("multitask", "t", 2, 0.32),
        _row("multitask", "t", 3, 0.35),  # no single-task run of seed 3
        _row("multitask", "u", 1, 0.50),
        _row("multitask", "t", 1, 0.33, split="val"),  # no single-task run on this split
    ])  # fmt: skip
    pairs = paired_with_single(runs)
    assert list(zip(pairs["task"], pairs["seed"], pairs["value_mtl"], pairs["value_stl"], strict=True)) == [
        ("t", 1, 0.30, 0.40),
        ("t", 2, 0.32, 0.41),
        ("u", 1, 0.50, 0.60),
    ]
    assert set(pairs["coupling"]) == {"tight"} and set(pairs["kind"]) == {"multitask"}
    assert "value" not in pairs


def test_paired_with_single_refuses_two_single_task_runs_of_one_seed():
    runs = pd.DataFrame(
        [_row("single", "t", 1, 0.4), _row("single", "t", 1, 0.5), _row("multitask", "t", 1, 0.3)]
    )
    with pytest.raises(ValueError, match="more than one single-task run of 't'"):
        paired_with_single(runs)


def _with_numerics(row, backend="torch", precision="bfloat16", device="cpu"):
    return {**row, "backend": backend, "precision": precision, "device": device}


def test_paired_with_single_refuses_pairs_of_different_numerics_naming_them():
    runs = pd.DataFrame([
        _with_numerics(_row("single", "t", 1, 0.40)),
        _with_numerics(_row("multitask", "t", 1, 0.30)),
        _with_numerics(_row("single", "t", 2, 0.41), precision="float32"),  # a node without bfloat16
        _with_numerics(_row("multitask", "t", 2, 0.32)),
        _with_numerics(_row("multitask", "t", 2, 0.31, split="val")),
        _with_numerics(_row("single", "t", 2, 0.42, split="val"), precision="float32"),
        _with_numerics(_row("single", "t", 3, 0.41), device="cuda"),
        _with_numerics(_row("multitask", "t", 3, 0.30, sharing="high")),
    ])  # fmt: skip
    with pytest.raises(NumericsMismatchError) as caught:
        comparison_table(runs, "t")
    message = str(caught.value)
    assert message.startswith(
        "refusing to compare runs trained with different numerics (backend/precision/device): "
    )
    assert (
        "multi-task run tight/low/n100/seed2 (torch/bfloat16/cpu) and its single-task partner "
        "single/t/n100/seed2 (torch/float32/cpu)" in message
    )
    assert (
        "tight/high/n100/seed3 (torch/bfloat16/cpu) and its single-task partner single/t/n100/seed3 "
        "(torch/bfloat16/cuda)" in message
    )
    assert message.count("multi-task run") == 2  # one name per pair of runs, not per split or metric
    assert "seed1" not in message
    with pytest.raises(NumericsMismatchError):
        seed_gains(runs, "t", "error")
    # the same runs in one precision and device pair as before, without the numerics columns in the result
    same = runs.assign(precision="bfloat16", device="cpu")
    pairs = paired_with_single(same)
    assert len(pairs) == 4 and "precision_partner" not in pairs and set(pairs["precision"]) == {"bfloat16"}


def test_every_comparison_pairs_the_same_runs():
    # A multi-task run of seed 4 has no single-task partner: the comparison table, the per-seed gains
    # and the relative improvements all leave it out.
    runs = pd.concat([_runs(), pd.DataFrame([_row("multitask", "t", 4, 0.9)])], ignore_index=True)
    assert comparison_table(runs, "t").iloc[0]["n_seeds"] == 3
    gains = seed_gains(runs, "t", "error")
    assert list(gains["seed"]) == [1, 2, 3]
    assert gains["gain"].to_numpy() == pytest.approx([0.10, 0.09, 0.11])
    improvements = task_relative_improvements(runs)
    assert improvements["relative_improvement"].to_numpy() == pytest.approx(
        [0.1 / 0.4, 0.09 / 0.41, 0.11 / 0.39]
    )
