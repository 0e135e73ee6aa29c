"""Schema errors of the study config in one short line: the key, the value and what is allowed."""

from __future__ import annotations

import pytest

from mtrl.config import ConfigError, fill_defaults, with_defaults
from mtrl.schema import load_schema
from mtrl.schema_errors import DESCRIBED_KEYWORDS
from workflow import tiny

TRAINING = tiny()["training"]
SPLIT = tiny()["data"]["split"]
COUPLINGS_ALLOWED = (
    "allowed: 'auto' or mapping of <name> to list of string (at least 1 entry; names: not 'single', "
    "matching ^[A-Za-z][A-Za-z0-9_]*$; values: at least 2 items, no repeats)"
)


def _error(**overrides) -> str:
    with pytest.raises(ConfigError) as err:
        with_defaults(tiny(**overrides))
    return str(err.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"couplings": {}}, f"couplings: {{}} has 0 entries, at least 1 needed; {COUPLINGS_ALLOWED}"),
        (
            {"couplings": {"t close": ["t_target", "t_far1"]}},
            f"couplings: 't close' does not match '^[A-Za-z][A-Za-z0-9_]*$' (as a name); {COUPLINGS_ALLOWED}",
        ),
        (
            {"couplings": {"single": ["t_target", "t_far1"]}},
            f"couplings: 'single' is not allowed here (as a name); {COUPLINGS_ALLOWED}",
        ),
        ({"couplings": "autoo"}, f"couplings: 'autoo' is not 'auto'; {COUPLINGS_ALLOWED}"),
        ({"couplings": 3}, f"couplings: 3 is none of these; {COUPLINGS_ALLOWED}"),
        (
            {"nope": 1},
            "config: unknown key 'nope'; allowed keys: results, target, couplings, auto_couplings, sharing, "
            "weightings, sharing_presets, architectures, train_sizes, seeds, replicates, execution, backend, "
            "precision, findings, model, training, data, download",
        ),
    ],
)
def test_the_cases_of_issue_14_in_one_line(overrides, message):
    assert _error(**overrides) == message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        # inside a chosen alternative: the inner key and its rule
        (
            {"couplings": {"tight": ["t_target"]}},
            "couplings.tight: ['t_target'] has 1 item, at least 2 needed",
        ),
        (
            {"couplings": {"tight": ["t_target", "t_target"]}},
            "couplings.tight: ['t_target', 't_target'] repeats",
        ),
        # an unknown key that belongs elsewhere, or is misspelt
        ({"learning_rate": 0.1}, "(did you mean training.learning_rate?)"),
        (
            {"training": {**TRAINING, "learning_rat": 0.1}},
            "training: unknown key 'learning_rat'; allowed keys: ",
        ),
        ({"training": {**TRAINING, "learning_rat": 0.1}}, "(did you mean learning_rate?)"),
        # the rule of enum, type, range, pattern
        (
            {"training": {**TRAINING, "monitor": "best"}},
            "training.monitor: 'best' is not one of ['target', 'total']",
        ),
        (
            {"seeds": "one"},
            "seeds: 'one' is none of these; allowed: list of integer (at least 1 item; no repeats; "
            "items: >= 0) or mapping with keys initial, max, target_halfwidth, first",
        ),
        ({"train_sizes": [40, 0]}, "train_sizes.1: 0 is less than the minimum of 1; allowed: integer (>= 1)"),
        (
            {"data": {**tiny()["data"], "split": {**SPLIT, "val_fraction": 1.5}}},
            "data.split.val_fraction: 1.5 is greater than or equal to the maximum of 1; "
            "allowed: number (> 0; < 1)",
        ),
        (
            {"sharing": ["low", "my preset"]},
            "sharing.1: 'my preset' does not match '^[A-Za-z][A-Za-z0-9_]*([+][A-Za-z][A-Za-z0-9_]*)?$'",
        ),
        ({"download": {"sha256": {"x.zip": "ab"}}}, "download.sha256: 'x.zip' is not one of ['mxm_"),
    ],
)
def test_every_message_names_key_value_and_rule(overrides, message):
    assert message in _error(**overrides)


def test_a_long_value_is_cut():
    text = _error(seeds=[*range(1000), 1])
    assert text.startswith("seeds: [0, 1, 2, 3, 4, 5, ...] repeats 1") and len(text) < 200


def test_every_message_is_short_and_prints_no_schema():
    for overrides in ({"couplings": {}}, {"couplings": {"a b": ["t_target", "t_far1"]}}, {"nope": 1}):
        text = _error(**overrides)
        assert "\n" not in text and len(text) < 300
        assert "description" not in text and "Failed validating" not in text


def test_fill_defaults_changes_the_config_in_place():
    config = tiny()
    fill_defaults(config)
    assert config == with_defaults(tiny())
    assert (config["findings"]["alpha"], config["findings"]["adjustment"]) == (0.05, "holm")


def test_the_describer_knows_every_keyword_the_schema_uses():
    """A new keyword in the schema (``multipleOf``...) must get words in mtrl.schema_errors too."""

    def keywords(node):
        if isinstance(node, dict):
            named = ("properties",)
            for key, value in node.items():
                if key not in ("default", "description", "enum", "const", "required"):
                    yield key
                    children = value.values() if key in named and isinstance(value, dict) else [value]
                    yield from (k for child in children for k in keywords(child))
        elif isinstance(node, list):
            yield from (k for item in node for k in keywords(item))

    unknown = set(keywords(load_schema())) - DESCRIBED_KEYWORDS
    assert not unknown, f"schema keywords without words in mtrl.schema_errors: {sorted(unknown)}"
