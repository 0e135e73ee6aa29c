"""Sharing strategies as plug-ins: the registry, the presets, and hard sharing built as before."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from mtrl.architectures import ARCHITECTURES, Architecture, architecture_of, create, get
from mtrl.architectures.hard import HardSharing
from mtrl.architectures.presets import BUILTIN_PRESETS, PresetError, checked_mask, resolve_masks
from mtrl.model import build_model
from mtrl.plugins import Registry
from mtrl.tasks import TaskSpec

TASKS = [TaskSpec("a", "binary"), TaskSpec("b:x", "regression"), TaskSpec("c", "multiclass", ("p", "q", "r"))]
WIDTHS = [32, 16, 8, 4]
DROPOUT = [0.0, 0.0, 0.5, 0.5]
CASES = [f"{preset}/{n}" for n in (3, 1) for preset in ("low", "high", "interspersed", "none")]

# Frozen from the build_model of commit 1b8b2d3 (before sharing strategies were plug-ins): the
# layers of each network (model.layers order) ...
LAYERS_3 = {
    "low": "shared_1 shared_2 a_3 b_x_3 c_3 a_3_dropout b_x_3_dropout c_3_dropout a_4 b_x_4 c_4 "
    "a_4_dropout b_x_4_dropout c_4_dropout",
    "high": "a_1 b_x_1 c_1 a_2 b_x_2 c_2 shared_3 shared_3_dropout shared_4 shared_4_dropout",
    "interspersed": "shared_1 a_2 b_x_2 c_2 a_3 b_x_3 c_3 a_3_dropout b_x_3_dropout c_3_dropout shared_4 "
    "shared_4_dropout",
    "none": "a_1 b_x_1 c_1 a_2 b_x_2 c_2 a_3 b_x_3 c_3 a_3_dropout b_x_3_dropout c_3_dropout a_4 b_x_4 c_4 "
    "a_4_dropout b_x_4_dropout c_4_dropout",
}
LAYERS_1 = "hidden_1 hidden_2 hidden_3 hidden_3_dropout hidden_4 hidden_4_dropout"
# ... and a digest of its initial weights after keras.utils.set_random_seed(1), per backend (the
# layer creation order decides which random numbers each layer draws)
WEIGHTS = {
    "jax": {
        "low/3": "e72455453aa84a35", "high/3": "4bc8db3f6fdcad56", "interspersed/3": "72c0e310a682912d",
        "none/3": "9689ec52e5cae3f6", "low/1": "9a007cc1680b94b8", "high/1": "9a007cc1680b94b8",
        "interspersed/1": "9a007cc1680b94b8", "none/1": "9a007cc1680b94b8",
    },
    "torch": {
        "low/3": "ff8a39321f94f401", "high/3": "d8c3833e780b686c", "interspersed/3": "262c3d4e359a5112",
        "none/3": "61e800514179b34c", "low/1": "5ab5628ffffa6eaf", "high/1": "5ab5628ffffa6eaf",
        "interspersed/1": "5ab5628ffffa6eaf", "none/1": "5ab5628ffffa6eaf",
    },
    "tensorflow": {
        "low/3": "55330f963468f834", "high/3": "177833e2a48286f1", "interspersed/3": "58bf11be25d52962",
        "none/3": "7c5759d7fb32c969", "low/1": "27d612f4b1c90d80", "high/1": "27d612f4b1c90d80",
        "interspersed/1": "27d612f4b1c90d80", "none/1": "27d612f4b1c90d80",
    },
}  # fmt: skip


def built(case: str) -> keras.Model:
    """The network of ``case`` (preset/number of tasks), after seeding Keras with 1."""
    preset, n = case.split("/")
    keras.utils.set_random_seed(1)
    return build_model(
        40, TASKS[: int(n)], HardSharing(WIDTHS, DROPOUT, sharing_mask=BUILTIN_PRESETS[preset])
    )


def digests() -> dict[str, dict[str, str]]:
    """Case -> the layer names and the digest of the initial weights, on the current backend."""
    out = {}
    for case in CASES:
        model = built(case)
        digest = hashlib.sha256()
        for w in model.get_weights():
            digest.update(np.ascontiguousarray(w, dtype=np.float32).tobytes())
        out[case] = {
            "layers": " ".join(layer.name for layer in model.layers),
            "weights": digest.hexdigest()[:16],
        }
    return out


def _expected(backend: str) -> dict[str, dict[str, str]]:
    heads = {"3": "a b_x c", "1": "a"}
    return {
        case: {
            "layers": f"words {LAYERS_3[case.split('/')[0]] if case.endswith('/3') else LAYERS_1} "
            f"{heads[case.split('/')[1]]}",
            "weights": WEIGHTS[backend][case],
        }
        for case in CASES
    }


def test_hard_sharing_builds_the_frozen_layers_and_initial_weights():
    backend = keras.backend.backend()
    if backend not in WEIGHTS:
        pytest.skip(f"no frozen weights for backend {backend}")
    assert digests() == _expected(backend)


def test_hard_sharing_on_torch_builds_the_frozen_initial_weights():
    """The study's backend, in its own process (the tests' Keras runs on JAX)."""
    code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " + (
        "from test_architectures import digests; print(json.dumps(digests()))"
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == _expected("torch")


# --- the registry -----------------------------------------------------------------------------


def test_registry_gives_hard_sharing_by_name():
    assert "hard" in ARCHITECTURES and ARCHITECTURES.names() == ["cgc", "cross_stitch", "hard", "mmoe", "ple"]
    assert get("hard") is HardSharing
    arch = create("hard", WIDTHS, DROPOUT, "gelu", sharing_mask=[1, 1, 0, 0])
    assert isinstance(arch, HardSharing) and arch.activation == "gelu"
    assert arch.describe() == {"sharing_mask": [1, 1, 0, 0]}


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown architecture 'mtan'; known architectures: cgc, cross_stitch, hard, mmoe, ple$",
    ):
        get("mtan")


def test_a_new_strategy_is_one_class_registered_by_name():
    class Shared(Architecture):
        """Every layer shared (a test strategy)."""

        def towers(self, inputs, tasks):
            return HardSharing(self.widths, self.dropout, sharing_mask=[1] * len(self.widths)).towers(
                inputs, tasks
            )

        def parameter_count(self, input_dim, tasks):
            return HardSharing(
                self.widths, self.dropout, sharing_mask=[1] * len(self.widths)
            ).parameter_count(input_dim, tasks)

        def describe(self):
            return {}

    registry = Registry("architecture", Architecture, {"hard": "mtrl.architectures.hard:HardSharing"})
    registry.register("shared", Shared)
    assert registry.names() == ["hard", "shared"] and registry.get("shared") is Shared
    with pytest.raises(ValueError, match="registered already"):
        registry.register("shared", Shared)
    with pytest.raises(ValueError, match="not 'module:Class'"):
        registry.register("other", "mtrl.architectures.hard")
    registry.register("broken", "mtrl.tasks:TaskSpec")
    with pytest.raises(TypeError, match="not a subclass of Architecture"):
        registry.get("broken")
    model = build_model(40, TASKS, Shared(WIDTHS, DROPOUT))
    assert model.count_params() == Shared(WIDTHS, DROPOUT).parameter_count(40, TASKS) + 5 * 5


def test_architecture_of_a_run_reads_its_fields():
    run = SimpleNamespace(widths=(8, 4), dropout=(0.0, 0.5), activation="tanh", sharing_mask=[True, False])
    arch = architecture_of(run)
    assert isinstance(arch, HardSharing)
    assert (arch.widths, arch.dropout, arch.activation) == ((8, 4), (0.0, 0.5), "tanh")
    assert arch.sharing_mask == (True, False)


def test_light_modules_import_no_keras():
    code = (
        "import sys; import mtrl.architectures, mtrl.architectures.presets, mtrl.config, mtrl.weightings; "
        "mtrl.config.sharing_masks; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('keras', 'torch', 'jax', 'tensorflow')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


# --- presets and masks ------------------------------------------------------------------------


def test_none_and_full_span_any_depth_and_other_builtins_fit_four_layers():
    masks = resolve_masks(["none", "full"], 3)
    assert masks["none"] == (False, False, False) and masks["full"] == (True, True, True)
    assert "low" not in masks  # a 4-layer mask, left out of a 3-layer network
    masks = resolve_masks(["low"], 4, {"mine": [1, 0, 0, 0], "high": [1, 1, 1, 0]})
    assert masks["low"] == (True, True, False, False) and masks["mine"] == (True, False, False, False)
    assert masks["high"] == (True, True, True, False)  # a user preset redefines a built-in


def test_preset_errors_name_the_key_the_value_and_what_is_allowed():
    with pytest.raises(
        PresetError, match=r"sharing: unknown preset 'medium'; available presets: full, high, "
    ):
        resolve_masks(["medium"], 4)
    with pytest.raises(
        PresetError, match=r"^sharing_presets.mine = \[1, 1\] has 2 entries but model.widths has 4"
    ):
        resolve_masks(["mine"], 4, {"mine": [1, 1]})
    with pytest.raises(PresetError, match=r"^sharing: built-in preset 'low' = \[1, 1, 0, 0\] has 4 entries"):
        resolve_masks(["low"], 3)


def test_checked_mask_is_the_one_check():
    assert checked_mask([1, 0], 2) == (True, False)
    assert checked_mask((True, False), 2) == (True, False)
    with pytest.raises(ValueError, match=r"^sharing mask = \[1, 0\] has 2 entries but model.widths has 3"):
        checked_mask([True, False], 3)
    with pytest.raises(ValueError, match=r"entries must be 0 \(one layer per task\) or 1 \(shared\)"):
        checked_mask([0, 2], 2)
