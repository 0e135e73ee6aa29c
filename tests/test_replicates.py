"""What a replicate seed varies (replicates.vary): the training subset and the split, drawn per seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mtrl.config import ConfigError, load_config, run_parameters
from mtrl.data.dataset import Dataset, make_split
from mtrl.data.prepared import PreparedData
from mtrl.data.replicates import (
    ReplicateDrawError,
    check_replicate_classes,
    check_vary,
    replicate_data,
    replicate_split,
)
from mtrl.data.subsets import training_rows
from mtrl.data.synthetic import generate
from mtrl.run_inputs import prepare_run_inputs
from mtrl.spec import RunSpec, training_seed
from mtrl.tasks import TaskSpec

BOTH = ("init", "order", "subset", "split")
SUBSET = ("init", "order", "subset")


@pytest.fixture(scope="module")
def data() -> PreparedData:
    """900 rows; the binary target (about 20% positive) on two rows of three, an auxiliary task on all."""
    base = generate(
        n_rows=900,
        n_features=60,
        tasks={
            "t": {"kind": "binary", "rho": 1.0, "positive_rate": 0.2},
            "a": {"kind": "regression", "rho": 0.9},
        },
        seed=0,
    )
    target = base.labels["t"].copy()
    target[np.arange(900) % 3 == 0] = np.nan
    dataset = Dataset(
        base.features,
        {"t": target, "a": base.labels["a"]},
        [TaskSpec("t", "binary"), TaskSpec("a", "regression")],
        base.ids,
    )
    return PreparedData(dataset, make_split(900, 0.2, 0.1, seed=4, stratify=target), {})


def _spec(tasks, n_train, seed, vary, **more) -> RunSpec:
    return RunSpec(
        tasks=tasks, target=tasks[0], n_train=n_train, seed=seed, sharing_mask=[True] * 4, vary=vary,
        split_by="t", **more,
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 7])
def test_init_and_order_alone_keep_the_fixed_rows(data, seed):
    assert replicate_data(data, seed, ["init", "order"], "t") is data
    inputs = prepare_run_inputs(data, _spec(["t", "a"], 50, seed, ("init", "order")))
    assert inputs.data is data
    assert np.array_equal(inputs.train_rows, training_rows(data, 50, "t", ["t", "a"]))
    assert np.array_equal(
        inputs.train_rows, data.rows("train")[~np.isnan(data.labels("t", data.rows("train")))][:50]
    )


@pytest.mark.parametrize("vary", [SUBSET, BOTH])
def test_partners_of_a_seed_train_and_test_on_the_same_rows(data, vary):
    multi = prepare_run_inputs(data, _spec(["t", "a"], 60, 3, vary))
    single = prepare_run_inputs(data, _spec(["t"], 60, 3, vary, labels={"kind": "single"}))
    assert np.array_equal(multi.train_rows, single.train_rows)
    for split in ("val", "test"):
        assert np.array_equal(multi.data.rows(split), single.data.rows(split))


@pytest.mark.parametrize("vary", [SUBSET, BOTH])
def test_every_single_task_network_of_a_seed_trains_and_tests_on_its_rows(data, vary):
    # replicates.single_task_networks: a further network of seed 3 draws its own initial weights and
    # batch order (training_seed) but the seed's data: its multi-task partner's rows
    multi = prepare_run_inputs(data, _spec(["t", "a"], 60, 3, vary))
    specs = [_spec(["t"], 60, 3, vary, labels={"kind": "single"}, network=k) for k in (0, 1, 2)]
    for spec in specs:
        single = prepare_run_inputs(data, spec)
        assert np.array_equal(multi.train_rows, single.train_rows)
        for split in ("val", "test"):
            assert np.array_equal(multi.data.rows(split), single.data.rows(split))
    assert specs[0].training_seed == 3  # network 0: the seed's own draws, as before networks existed
    seeds = [spec.training_seed for spec in specs]
    assert len(set(seeds)) == 3 and seeds == [s.training_seed for s in specs]  # distinct, reproducible
    assert training_seed(4, 1) not in seeds and 0 <= training_seed(3, 1) < 2**31


@pytest.mark.parametrize("vary", [SUBSET, BOTH])
def test_seeds_draw_different_rows_nested_across_sizes(data, vary):
    small = {seed: prepare_run_inputs(data, _spec(["t"], 40, seed, vary)).train_rows for seed in (1, 2)}
    large = prepare_run_inputs(data, _spec(["t"], 120, 1, vary)).train_rows
    assert not np.array_equal(np.sort(small[1]), np.sort(small[2]))
    assert np.array_equal(large[:40], small[1])
    fixed = training_rows(data, 40, "t", ["t"])
    assert not np.array_equal(np.sort(small[1]), np.sort(fixed))


def test_a_subset_draw_keeps_the_fixed_validation_and_test_rows(data):
    split = replicate_split(data, 5, SUBSET, "t")
    assert np.array_equal(split.val, data.split.val) and np.array_equal(split.test, data.split.test)
    assert np.array_equal(np.sort(split.train), np.sort(data.split.train))


def test_a_split_draw_keeps_sizes_labels_and_class_shares(data):
    fixed, labels = data.split, data.dataset.labels["t"]
    drawn = {seed: replicate_split(data, seed, BOTH, "t") for seed in (1, 2)}
    for split in drawn.values():
        rows = np.concatenate([split.train, split.val, split.test])
        assert np.array_equal(np.sort(rows), np.arange(900))  # a partition of every row
        for name in ("val", "test"):
            assert len(split[name]) == len(fixed[name])  # the configured fractions, as on the fixed split
            assert not np.isnan(labels[split[name]]).any()  # only target-labelled rows are tested on
        share = labels[~np.isnan(labels)].mean()
        for name in ("val", "test"):
            assert labels[split[name]].mean() == pytest.approx(share, abs=1.0 / len(split[name]))
        assert np.array_equal(
            np.sort(split.train[np.isnan(labels[split.train])]), np.flatnonzero(np.isnan(labels))
        )
    assert not np.array_equal(drawn[1].test, drawn[2].test)
    assert not np.array_equal(drawn[1].test, fixed.test)
    assert np.array_equal(replicate_split(data, 1, BOTH, "t").test, drawn[1].test)  # reproducible


def test_a_draw_that_loses_a_class_the_fixed_split_has_fails_naming_the_seed():
    """3 positives among 30 training rows: the fixed first 3 hold one, most seeds' 3 rows hold none."""
    n = 40
    labels = np.zeros(n)
    labels[[0, 1, 2, 30, 31]] = 1  # three training rows, one validation row, one test row
    features = generate(n_rows=n, n_features=10, tasks={"x": {"kind": "binary", "rho": 1.0}}, seed=0).features
    dataset = Dataset(features, {"t": labels}, [TaskSpec("t", "binary")], np.arange(n).astype(str))
    train = np.array([0, 3, 4, 1, 2, *range(5, 30)])  # the fixed order: both classes among the first 3
    split = dataclasses.replace(
        make_split(n, 0.1, 0.1, seed=0),
        train=train,
        val=np.array([30, 32, 33, 34]),
        test=np.array([31, 35, 36, 37]),
    )
    data = PreparedData(dataset, split, {})
    check_replicate_classes(data, data, ["t"], "t", 3, 0)  # the fixed split serves the run
    failing = [
        seed for seed in range(20) if _fails(lambda s=seed: check_replicate_classes(
            data, replicate_data(data, s, SUBSET, "t"), ["t"], "t", 3, s))
    ]  # fmt: skip
    assert 5 <= len(failing) < 20  # C(27, 3) / C(30, 3) = 72% of the draws have no positive
    seed = failing[0]
    with pytest.raises(
        ReplicateDrawError, match=rf"^seed {seed}: .*training subset of `t` at n = 3 has one class"
    ):
        prepare_run_inputs(data, _spec(["t"], 3, seed, SUBSET))
    passing = next(s for s in range(20) if s not in failing)
    assert prepare_run_inputs(data, _spec(["t"], 3, passing, SUBSET)).n_train_actual == 3


def _fails(call) -> bool:
    try:
        call()
    except ReplicateDrawError:
        return True
    return False


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        (["subset", "split"], "replicates.vary = ['subset', 'split'] lacks init, order: a seed always"),
        (["init", "split"], "replicates.vary = ['init', 'split'] lacks order"),
        (["init", "order", "split"], "a re-drawn split deals out a new training split, so the training"),
    ],
)
def test_a_vary_list_without_init_and_order_is_a_config_error(vary, message):
    from test_config import MINIMAL

    with pytest.raises(ConfigError) as err:
        load_config({**MINIMAL, "replicates": {"vary": vary}})
    assert str(err.value).startswith(f"replicates.vary = {vary}") and message in str(err.value)
    with pytest.raises(ValueError, match=r"replicates\.vary"):
        check_vary(vary)


def test_an_unknown_source_is_a_schema_error():
    from test_config import MINIMAL

    with pytest.raises(
        ConfigError,
        match=r"^replicates\.vary\.2: 'labels' is not one of \['init', 'order', 'subset', 'split'\]",
    ):
        load_config({**MINIMAL, "replicates": {"vary": ["init", "order", "labels"]}})


def test_run_parameters_carry_the_replicate_settings_only_where_they_change_a_run():
    from test_config import MINIMAL

    plain = {"vary": ["init", "order"], "paired_init": False}
    assert not {"vary", "split_by", "paired_init"} & set(
        run_parameters(load_config({**MINIMAL, "replicates": plain}), ["t"])
    )
    config = load_config({**MINIMAL, "replicates": {"vary": ["split", "subset", "order", "init"]}})
    params = run_parameters(config, ["a"])
    assert params["vary"] == list(BOTH) and params["split_by"] == "t"  # the study's target, for every run
    paired = load_config({**MINIMAL, "replicates": {**plain, "paired_init": True}})
    assert {k: v for k, v in run_parameters(paired, ["t"]).items() if k in ("vary", "paired_init")} == {
        "paired_init": True
    }
