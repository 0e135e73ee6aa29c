"""The config as the workflow sees it: schema defaults filled in, cross-key checks, run parameters."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
import yaml
from snakemake.utils import validate

from mtrl.config import (
    ConfigError,
    check_config,
    load_config,
    run_parameters,
    sharing_masks,
    with_defaults,
)
from mtrl.data.download import REGISTRY
from mtrl.schema import SCHEMA_PATH
from mtrl.sharing import sharing_parameters, weighting_parameters
from mtrl.train import RunSpec
from workflow import REPO, tiny

#: A config with only the required keys.
MINIMAL: dict[str, Any] = {
    "target": "t",
    "couplings": {"pair": ["t", "a"]},
    "sharing": ["low"],
    "train_sizes": [10],
    "seeds": [1],
    "model": {"widths": [8, 8, 4, 4], "dropout": [0, 0, 0.5, 0.5], "activation": "relu"},
    "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 8, "max_epochs": 2, "patience": 1},
    "data": {
        "source": "synthetic",
        "split": {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
        "synthetic": {"tasks": {"t": {"kind": "binary", "rho": 1.0}, "a": {"kind": "binary", "rho": 0.5}}},
    },
}


def _schema_defaults(schema: dict, config: dict, path: str = "") -> dict[str, Any]:
    """Key path -> default of every leaf property with a default whose parent is in ``config``.

    An object with properties of its own (``findings``, ``download``) is followed instead.
    """
    found = {}
    for name, sub in schema.get("properties", {}).items():
        key = f"{path}{name}"
        if "default" in sub and "properties" not in sub:
            found[key] = sub["default"]
        if isinstance(config.get(name), dict):
            found.update(_schema_defaults(sub, config[name], f"{key}."))
    return found


def _at(config: dict, key: str) -> Any:
    for part in key.split("."):
        config = config[part]
    return config


def test_a_config_with_only_required_keys_gets_every_default():
    filled = with_defaults(MINIMAL)
    defaults = _schema_defaults(yaml.safe_load(SCHEMA_PATH.read_text()), filled)
    assert {key: _at(filled, key) for key in defaults} == defaults
    expected = {
        "results": "results",
        "backend": "torch",
        "precision": "auto",
        "sharing_presets": {},
        "findings.alpha": 0.05,
        "findings.adjustment": "holm",
        "findings.metric": "auto",
        "training.monitor": "target",
        "training.loss_weights": {},
        "training.feature_transform": "log1p",
        "training.auxiliary_use_all_labels": False,
        "training.class_weight": "none",
        "training.threshold": "fixed",
        "data.synthetic.n_rows": 12000,
        "download.enabled": False,
        "download.dir": "data/msd",
        "download.files": list(REGISTRY),
        "download.sha256": {},
        "download.timeout_s": 60,
        "download.mirror": None,
    }
    assert {key: defaults[key] for key in expected} == expected
    assert MINIMAL["training"].keys() == {
        "optimizer",
        "learning_rate",
        "batch_size",
        "max_epochs",
        "patience",
    }


@pytest.mark.parametrize("config", [MINIMAL, tiny(), yaml.safe_load((REPO / "config.yaml").read_text())])
def test_defaults_are_filled_the_way_snakemake_fills_them(config):
    by_snakemake = copy.deepcopy(config)
    validate(by_snakemake, str(SCHEMA_PATH))
    assert with_defaults(config) == by_snakemake


def test_a_given_value_wins_and_the_defaults_are_not_shared():
    first = with_defaults({**MINIMAL, "findings": {"alpha": 0.01}})
    assert first["findings"]["alpha"] == 0.01
    assert {k: first["findings"][k] for k in ("adjustment", "metric", "power", "hypotheses")} == {
        "adjustment": "holm",
        "metric": "auto",
        "power": 0.8,
        "hypotheses": [],
    }
    first["findings"]["equivalence_margin"]["roc_auc"] = 1.0
    assert with_defaults(MINIMAL)["findings"]["equivalence_margin"]["roc_auc"] == 0.01
    first["training"]["loss_weights"]["t"] = 2.0
    assert with_defaults(MINIMAL)["training"]["loss_weights"] == {}
    assert "findings" not in MINIMAL  # the argument is not changed


def test_schema_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"^training.monitor: 'best' is not one of \['target', 'total'\]"):
        with_defaults({**MINIMAL, "training": {**MINIMAL["training"], "monitor": "best"}})
    with pytest.raises(ConfigError, match=r"^config: 'seeds' is a required property"):
        with_defaults({k: v for k, v in MINIMAL.items() if k != "seeds"})


def test_load_config_reads_the_default_study():
    config = load_config(REPO / "config.yaml")
    findings = config["findings"]
    assert (findings["alpha"], findings["adjustment"], findings["metric"]) == (0.05, "holm", "auto")
    kinds = [h["kind"] for h in findings["hypotheses"]]  # the declared confirmatory family
    assert kinds == ["gain", "gain", "coupling_contrast", "size_slope", "interaction"]
    assert load_config(MINIMAL) == with_defaults(MINIMAL)


# --- sharing presets ----------------------------------------------------------------------------


def test_sharing_masks_read_the_preset_table_once():
    masks = sharing_masks(
        with_defaults({**MINIMAL, "sharing": ["low", "mine"], "sharing_presets": {"mine": [0, 1, 1, 1]}})
    )
    assert masks["low"] == (True, True, False, False)
    assert masks["mine"] == (False, True, True, True)
    assert masks["none"] == (False,) * 4  # the single-task runs' mask


def test_none_and_full_fit_any_depth():
    three = {
        **MINIMAL,
        "sharing": ["full"],
        "model": {**MINIMAL["model"], "widths": [8, 4, 4], "dropout": [0, 0, 0]},
    }
    masks = sharing_masks(load_config(three))
    assert masks["full"] == (True,) * 3 and masks["none"] == (False,) * 3 and "low" not in masks


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"sharing": ["low", "medium"]},
            "sharing: unknown preset 'medium'; available presets: full, high, interspersed, low, none "
            "(define new ones under sharing_presets)",
        ),
        (
            {"sharing": ["mine"], "sharing_presets": {"mine": [1, 1]}},
            "sharing_presets.mine = [1, 1] has 2 entries but model.widths has 4 hidden layers; "
            "give one entry per hidden layer, each 0 or 1",
        ),
        (
            {"model": {"widths": [8, 4, 4], "dropout": [0, 0, 0], "activation": "relu"}},
            "sharing: built-in preset 'low' = [1, 1, 0, 0] has 4 entries but model.widths has 3",
        ),
        (
            {"sharing_presets": {"none": [1, 0, 0, 0]}},
            "sharing_presets.none = [1, 0, 0, 0]: 'none' is the single-task baseline's preset and keeps "
            "every layer private (all entries 0)",
        ),
        (
            {"sharing_presets": {"none": [0, 0]}},
            "sharing_presets.none = [0, 0] has 2 entries but model.widths has 4 hidden layers",
        ),
        (
            {"training": {**MINIMAL["training"], "loss_weights": {"z": 2}}},
            "training.loss_weights: unknown task 'z'; tasks of this study: t, a",
        ),
    ],
)
def test_check_config_names_the_bad_preset(changes, message):
    config = with_defaults({**MINIMAL, **changes})
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert str(err.value).startswith(message)


def test_run_parameters_give_the_runspec_fields():
    config = with_defaults(
        {**MINIMAL, "training": {**MINIMAL["training"], "loss_weights": {"a": 0.5, "t": 2}}}
    )
    params = run_parameters(config, ["a"])
    assert params == {
        "widths": [8, 8, 4, 4],
        "dropout": [0, 0, 0.5, 0.5],
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 8,
        "max_epochs": 2,
        "patience": 1,
        "monitor": "target",
        "loss_weights": {"a": 0.5},
        "feature_transform": "log1p",
        "auxiliary_use_all_labels": False,
        "class_weight": "none",
        "threshold": "fixed",
        "precision": "auto",
        "vary": ["init", "order", "subset", "split"],
        "split_by": "t",
    }
    spec = RunSpec(
        tasks=["a"],
        target="a",
        n_train=10,
        seed=1,
        sharing_mask=list(sharing_masks(config)["none"]),
        **params,
    )
    assert spec.sharing_mask == [False] * 4


# --- task names that collide after slugging, split fractions ---------------------------------------


def _synthetic_tasks(*names: str) -> dict:
    tasks = {name: {"kind": "binary", "rho": 0.5} for name in names}
    return {**MINIMAL["data"], "synthetic": {"tasks": {"t": {"kind": "binary", "rho": 1.0}, **tasks}}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"couplings": {"pair": ["t", "a b", "a_b"]}, "data": _synthetic_tasks("a b", "a_b")},
            "tasks 'a b' (couplings.pair) and 'a_b' (couplings.pair) share the file name 'a_b'",
        ),
        (
            {
                "couplings": {"one": ["t", "a:b"], "two": ["t", "a_b"]},
                "data": _synthetic_tasks("a:b", "a_b"),
            },
            "tasks 'a:b' (couplings.one) and 'a_b' (couplings.two) share the file name 'a_b'",
        ),
        (
            {
                "target": "t x",
                "couplings": {"pair": ["t x", "t_x"]},
                "data": {**_synthetic_tasks("t x", "t_x")},
            },
            "tasks 't x' (target) and 't_x' (couplings.pair) share the file name 't_x'",
        ),
        (
            {
                "couplings": "auto",
                "auto_couplings": {"candidates": ["a", "b c", "b_c", "d"], "k": 1},
                "data": _synthetic_tasks("a", "b c", "b_c", "d"),
            },
            "tasks 'b c' (auto_couplings.candidates) and 'b_c' (auto_couplings.candidates) share the file "
            "name 'b_c'",
        ),
        (
            {"couplings": {"pair": ["t", "::"]}, "data": _synthetic_tasks("::")},
            "couplings.pair: task name '::' has no letters or digits to name files with",
        ),
    ],
)
def test_task_names_that_collide_after_slugging_are_a_config_error(changes, message):
    config = with_defaults({**MINIMAL, **changes})
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert str(err.value).startswith(message)


def test_declared_real_data_tasks_that_collide_are_a_config_error():
    msd = {"lyrics": ["mxm.txt"], "tasks": {"genre:Pop Rock": None, "genre:Pop_Rock": None}}
    data = {"source": "msd", "split": MINIMAL["data"]["split"], "msd": msd}
    couplings = {"p": ["genre:Pop Rock", "year"]}
    config = with_defaults({**MINIMAL, "target": "genre:Pop Rock", "couplings": couplings, "data": data})
    with pytest.raises(ConfigError, match=r"^tasks 'genre:Pop Rock' \(target\) and 'genre:Pop_Rock' "):
        check_config(config)


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [
        (0.6, 0.6, "data.split: val_fraction 0.6 + test_fraction 0.6 = 1.2 leaves no training split"),
        (0.5, 0.5, "data.split: val_fraction 0.5 + test_fraction 0.5 = 1 leaves no training split"),
    ],
)
def test_split_fractions_that_sum_to_one_or_more_are_a_config_error(val, test, message):
    split = {"val_fraction": val, "test_fraction": test, "seed": 0}
    for source in ("synthetic", "msd"):
        data = {**MINIMAL["data"], "split": split, "source": source, "msd": {"lyrics": ["mxm.txt"]}}
        with pytest.raises(ConfigError) as err:
            check_config(with_defaults({**MINIMAL, "data": data}))
        assert str(err.value).startswith(message + "; the two must sum to less than 1"), source


def test_a_split_that_rounds_to_no_training_row_is_a_config_error():
    split = {"val_fraction": 0.46, "test_fraction": 0.5, "seed": 0}
    data = {**MINIMAL["data"], "split": split, "synthetic": {**MINIMAL["data"]["synthetic"], "n_rows": 10}}
    with pytest.raises(
        ConfigError,
        match=r"^data.split: val_fraction 0.46 and test_fraction 0.5 leave no training row of the 10 ",
    ):
        check_config(with_defaults({**MINIMAL, "data": data}))


@pytest.mark.parametrize("sharing", [["none"], ["low", "zeros"]])
def test_a_preset_sharing_no_layer_is_warned_about(sharing, caplog):
    config = with_defaults({**MINIMAL, "sharing": sharing, "sharing_presets": {"zeros": [0, 0, 0, 0]}})
    with caplog.at_level(logging.WARNING, logger="mtrl.config"):
        check_config(config)
    preset = sharing[-1]
    assert caplog.messages == [
        f"sharing: preset {preset!r} = [0, 0, 0, 0] shares no layer: its multi-task runs are single-task "
        "networks with a joint loss, not multi-task learning"
    ]


def test_presets_that_share_a_layer_give_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="mtrl.config"):
        check_config(
            with_defaults({**MINIMAL, "sharing": ["low", "mine"], "sharing_presets": {"mine": [0, 0, 0, 1]}})
        )
    assert caplog.messages == []


def test_hypotheses_are_checked_with_the_config():
    bad = {"name": "h", "kind": "gain", "coupling": "medium", "n_train": "smallest"}
    config = with_defaults({**MINIMAL, "findings": {"hypotheses": [bad]}})
    with pytest.raises(ConfigError, match=r"findings.hypotheses\[0\] \(h\): .*medium"):
        check_config(config)


def test_sharing_entries_with_a_weighting_have_their_presets_mask_and_parameters():
    config = load_config(
        tiny(sharing=["low", "low+uw", "high+pcgrad"], weightings={"dwa": {"temperature": 1}})
    )
    masks = sharing_masks(config)
    assert "low+uw" not in masks and "high+pcgrad" not in masks  # presets, not entries
    low = sharing_parameters(config, "low", masks)
    assert low == {"sharing_mask": list(masks["low"])}  # equal: no weighting fields
    assert sharing_parameters(config, "low+uw", masks) == {**low, "weighting": "uw", "weighting_options": {}}
    assert config["weightings"]["cagrad"] == {"c": 0.5} and config["weightings"]["dwa"] == {"temperature": 1}
    assert config["weightings"]["gradnorm"] == {"alpha": 1.5, "learning_rate": None}
    assert config["weightings"]["famo"] == {"learning_rate": 0.025, "weight_decay": 0.001}
    assert weighting_parameters(config, "low") == {}  # equal: the RunSpec default, parameters unchanged
    assert weighting_parameters(config, "low+uw") == {"weighting": "uw", "weighting_options": {}}
    params = weighting_parameters(config, "high+pcgrad")
    assert (
        RunSpec(tasks=["a", "b"], target="a", n_train=1, seed=0, sharing_mask=[1] * 4, **params).weighting
        == "pcgrad"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"sharing": ["low+graddrop"]},
            "sharing: 'low+graddrop' names unknown weighting 'graddrop'; known weightings: aligned_mtl, "
            "cagrad, dwa, equal, famo, gradnorm, imtl_g, mgda, nash_mtl, pcgrad, rlw, upgrad, uw",
        ),
        (
            {"sharing": ["low+famo"], "backend": "jax"},
            "sharing: 'low+famo': weighting 'famo' does not train on backend 'jax' (backend); "
            "it trains on: torch",
        ),
        (
            {"sharing": ["low+gradnorm"], "backend": "tensorflow"},
            "sharing: 'low+gradnorm': weighting 'gradnorm' does not train on backend 'tensorflow' "
            "(backend); it trains on: torch",
        ),
        (
            {"sharing": ["low", "low+upgrad"], "backend": "jax"},
            "sharing: 'low+upgrad': weighting 'upgrad' does not train on backend 'jax' (backend); "
            "it trains on: torch",
        ),
        ({"sharing": ["nope+uw"]}, "sharing: unknown preset 'nope'"),
        ({"sharing": ["low+"]}, "sharing.0: 'low+' does not match"),
        ({"weightings": {"dwa": {"temperature": 0}}}, "weightings.dwa.temperature: 0 is"),
        ({"weightings": {"graddrop": {}}}, "weightings: unknown key 'graddrop'"),
        ({"weightings": {"gradnorm": {"alpha": -1}}}, "weightings.gradnorm.alpha: -1 is"),
        ({"weightings": {"gradnorm": {"learning_rate": 0}}}, "weightings.gradnorm.learning_rate: 0 is"),
        ({"weightings": {"famo": {"weight_decay": -1}}}, "weightings.famo.weight_decay: -1 is"),
    ],
)
def test_bad_weightings_are_config_errors(changes, message):
    with pytest.raises(ConfigError) as err:
        load_config(tiny(**changes))
    assert message in str(err.value)
