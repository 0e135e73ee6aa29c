"""Soft-sharing architectures as entries of ``sharing``: the config block, its checks, run parameters."""

from __future__ import annotations

import pytest
from test_config import MINIMAL

from mtrl.architectures import architecture_of
from mtrl.architectures.hard import HardSharing
from mtrl.architectures.mmoe import MultiGateMixtureOfExperts
from mtrl.architectures.ple import ProgressiveLayeredExtraction
from mtrl.config import ConfigError, load_config, sharing_masks
from mtrl.sharing import architecture_entries, preset_entries, preset_names, sharing_parameters, split_entry
from mtrl.spec import RunSpec

SOFT = {**MINIMAL, "sharing": ["low", "cross_stitch", "mmoe", "cgc", "ple"]}


def test_the_schema_gives_every_architecture_its_defaults():
    config = load_config(SOFT)
    assert config["architectures"] == {
        "cross_stitch": {"layers": "all", "alpha_same": 0.9},
        "mmoe": {"experts": 4, "expert_widths": None, "expert_dropout": None},
        "cgc": {"shared_experts": 1, "task_experts": 1, "expert_widths": None, "expert_dropout": None},
        "ple": {
            "levels": 2,
            "shared_experts": 1,
            "task_experts": 1,
            "expert_widths": None,
            "expert_dropout": None,
        },
    }
    assert architecture_entries(config) == ["cross_stitch", "mmoe", "cgc", "ple"]
    assert preset_entries(config) == ["low"]


def test_run_parameters_of_a_preset_and_of_an_architecture():
    ple = {"levels": 2, "expert_widths": [8, 4, 4], "expert_dropout": [0, 0.5, 0.5]}
    config = load_config({**SOFT, "architectures": {"ple": ple}})
    masks = sharing_masks(config)
    assert "mmoe" not in masks
    assert sharing_parameters(config, "low", masks) == {"sharing_mask": [True, True, False, False]}
    params = sharing_parameters(config, "ple", masks)
    assert params == {
        "architecture": "ple",
        "architecture_options": {
            "levels": 2,
            "shared_experts": 1,
            "task_experts": 1,
            "expert_widths": [8, 4, 4],
            "expert_dropout": [0, 0.5, 0.5],
        },
    }
    with pytest.raises(ConfigError):
        load_config({**SOFT, "architectures": {"ple": {"expert_widths": [8, 4, 4]}}})  # 4 dropout rates


def test_architectures_with_a_weighting_are_entries_of_sharing():
    config = load_config(
        {
            **MINIMAL,
            "sharing": ["low", "low+uw", "mmoe", "mmoe+uw", "cross_stitch+dwa"],
            "weightings": {"dwa": {"temperature": 1}},
        }
    )
    assert [split_entry(e) for e in config["sharing"]] == [
        ("low", "equal"),
        ("low", "uw"),
        ("mmoe", "equal"),
        ("mmoe", "uw"),
        ("cross_stitch", "dwa"),
    ]
    assert architecture_entries(config) == ["mmoe", "mmoe+uw", "cross_stitch+dwa"]
    assert preset_entries(config) == ["low", "low+uw"] and preset_names(config) == ["low"]
    masks = sharing_masks(config)
    mmoe = sharing_parameters(config, "mmoe", masks)
    assert mmoe == {"architecture": "mmoe", "architecture_options": config["architectures"]["mmoe"]}
    assert sharing_parameters(config, "mmoe+uw", masks) == {
        **mmoe,
        "weighting": "uw",
        "weighting_options": {},
    }
    assert sharing_parameters(config, "cross_stitch+dwa", masks) == {
        "architecture": "cross_stitch",
        "architecture_options": {"layers": "all", "alpha_same": 0.9},
        "weighting": "dwa",
        "weighting_options": {"temperature": 1},
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"sharing": ["mmoe+graddrop"]},
            "sharing: 'mmoe+graddrop' names unknown weighting 'graddrop'; known weightings: aligned_mtl, ",
        ),
        (
            {"sharing": ["mtan+uw"]},
            "sharing: unknown preset 'mtan' (in 'mtan+uw'); available presets: full, high, interspersed, "
            "low, none (define new ones under sharing_presets); or an architecture: cgc, cross_stitch, "
            "mmoe, ple",
        ),
        (
            {"sharing": ["mmoe+pcgrad"], "backend": "jax"},
            "sharing: 'mmoe+pcgrad': weighting 'pcgrad' does not train on backend 'jax' (backend); "
            "it trains on: torch",
        ),
        (
            {"sharing": ["ple+uw"], "architectures": {"ple": {"levels": 5}}},
            "architectures.ple.levels = 5: each level needs at least one expert layer",
        ),
    ],
)
def test_bad_architecture_weightings_stop_before_any_job(changes, message):
    with pytest.raises(ConfigError) as err:
        load_config({**SOFT, **changes})
    assert str(err.value).startswith(message), str(err.value)


def test_a_gradient_method_on_an_architecture_is_a_valid_entry():
    """``mmoe+pcgrad`` on PyTorch: the gradient step finds the shared weights (the experts) in
    the tasks' graphs (a short run: tests/weighting_checks.py)."""
    config = load_config({**MINIMAL, "sharing": ["mmoe+pcgrad"], "backend": "torch"})
    params = sharing_parameters(config, "mmoe+pcgrad", sharing_masks(config))
    assert params["architecture"] == "mmoe" and params["weighting"] == "pcgrad"


def test_a_run_spec_builds_its_architecture():
    config = load_config(SOFT)
    masks = sharing_masks(config)
    model = config["model"]
    common = {"tasks": ["t", "a"], "target": "t", "n_train": 10, "seed": 1, **model}
    mmoe = architecture_of(RunSpec(**common, **sharing_parameters(config, "mmoe", masks)))
    assert isinstance(mmoe, MultiGateMixtureOfExperts) and mmoe.experts == 4
    assert mmoe.expert_widths == (8, 8, 4, 4) and mmoe.expert_dropout == (0, 0, 0.5, 0.5)
    ple = architecture_of(RunSpec(**common, **sharing_parameters(config, "ple", masks)))
    assert isinstance(ple, ProgressiveLayeredExtraction) and ple.level_widths == [(8, 8), (4, 4)]
    hard = architecture_of(RunSpec(**common, **sharing_parameters(config, "low", masks)))
    assert isinstance(hard, HardSharing) and hard.describe() == {"sharing_mask": [1, 1, 0, 0]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"architectures": {"mmoe": {"experts": 0}}},
            "architectures.mmoe.experts: 0 is less than the minimum of 1",
        ),
        (
            {"architectures": {"mmoe": {"expert_widths": []}}},
            "architectures.mmoe.expert_widths: [] has 0 items",
        ),
        (
            {"architectures": {"mmoe": {"expert_widths": [4, 0]}}},
            "architectures.mmoe.expert_widths.1: 0 is less than the minimum of 1",
        ),
        (
            {"architectures": {"mmoe": {"levels": 2}}},
            "architectures.mmoe: unknown key 'levels'; allowed keys: experts, expert_widths, expert_dropout "
            "(did you mean architectures.ple.levels?)",
        ),
        (
            {"architectures": {"mtan": {}}},
            "architectures: unknown key 'mtan'; allowed keys: cross_stitch, mmoe, cgc, ple",
        ),
        (
            {"architectures": {"mmoe": {"expert_widths": [4, 4]}}},
            "architectures.mmoe.expert_dropout is null, which takes model.dropout = [0.0, 0.0, 0.5, "
            "0.5], but architectures.mmoe.expert_widths = [4, 4] has 2 layers; give "
            "architectures.mmoe.expert_dropout, one dropout rate per expert layer",
        ),
        (
            {"architectures": {"ple": {"levels": 5}}},
            "architectures.ple.levels = 5: each level needs at least one expert layer and model.widths "
            "(architectures.ple.expert_widths is null) = [8, 8, 4, 4] has 4; give at most 4 levels",
        ),
        (
            {"architectures": {"cross_stitch": {"layers": [5]}}},
            "architectures.cross_stitch.layers = [5]: give 'all' or a non-empty list of distinct "
            "hidden-layer numbers from 1 to 4",
        ),
        (
            {"sharing": ["low", "mtan"]},
            "sharing: unknown preset 'mtan'; available presets: full, high, interspersed, low, none "
            "(define new ones under sharing_presets); or an architecture: cgc, cross_stitch, mmoe, ple",
        ),
        (
            {"sharing_presets": {"mmoe": [1, 0, 0, 0]}},
            "sharing_presets.mmoe: 'mmoe' is the name of an architecture",
        ),
    ],
)
def test_bad_architecture_settings_stop_before_any_job(changes, message):
    with pytest.raises(ConfigError) as err:
        load_config({**SOFT, **changes})
    assert str(err.value).startswith(message), str(err.value)


def test_an_architecture_not_swept_is_not_checked_against_the_network():
    # levels 5 cannot fit 4 layers, but ple is not an entry of sharing
    load_config({**MINIMAL, "architectures": {"ple": {"levels": 5}}})
