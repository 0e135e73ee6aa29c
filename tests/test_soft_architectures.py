"""Soft-sharing architectures: forward passes against their papers' definitions, computed by hand in
NumPy from the layer weights, and parameter counts against Keras's ``count_params()``."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mtrl.architectures import create, get, swept_architectures
from mtrl.architectures.cross_stitch import CrossStitch, initial_alpha
from mtrl.architectures.mmoe import MultiGateMixtureOfExperts
from mtrl.architectures.ple import CustomizedGateControl, ProgressiveLayeredExtraction
from mtrl.model import build_model, count_parameters
from mtrl.tasks import TaskSpec

TASKS = [TaskSpec("a", "binary"), TaskSpec("b:x", "regression"), TaskSpec("c", "multiclass", ("p", "q", "r"))]
WIDTHS = [12, 10, 8, 6]
NO_DROPOUT = [0.0] * 4
DIM = 20


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def dense(model: keras.Model, name: str, h: np.ndarray, activation=relu) -> np.ndarray:
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer(name).get_weights())
    return activation(h @ kernel + bias)


def mlp(model: keras.Model, prefix: str, h: np.ndarray, depths) -> np.ndarray:
    for depth in depths:
        h = dense(model, f"{prefix}_{depth}", h)
    return h


def towers_of(architecture, tasks=TASKS, seed: int = 3) -> tuple[keras.Model, np.ndarray, dict]:
    """The towers' network (no heads), a random input batch and the towers' outputs on it."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((DIM,), name="words")
    model = keras.Model(inputs, architecture.towers(inputs, tasks))
    x = np.random.default_rng(seed).random((5, DIM)).astype("float32")
    out = {k: np.asarray(v, dtype=np.float64) for k, v in model(x, training=False).items()}
    return model, x.astype(np.float64), out


# --- forward passes by hand -------------------------------------------------------------------


def test_mmoe_tower_is_the_gated_sum_of_the_experts():
    arch = MultiGateMixtureOfExperts(
        WIDTHS, NO_DROPOUT, experts=3, expert_widths=[9, 7], expert_dropout=[0, 0]
    )
    model, x, out = towers_of(arch)
    experts = np.stack([mlp(model, f"expert{i}", x, (1, 2)) for i in (1, 2, 3)], axis=1)  # (B, E, d)
    for task in TASKS:
        gate = dense(model, f"{task.slug}_gate", x, softmax)  # softmax(W_k x + b_k), (B, E)
        expected = np.einsum("be,bed->bd", gate, experts)
        np.testing.assert_allclose(out[task.slug], expected, rtol=1e-5, atol=1e-6)


def test_cross_stitch_units_mix_the_towers_by_alpha():
    arch = CrossStitch(WIDTHS, NO_DROPOUT, layers=[1, 3], alpha_same=0.8)
    model, x, out = towers_of(arch)
    slugs = [t.slug for t in TASKS]
    # alpha starts near the identity: rows of 0.8 on the diagonal and 0.1 elsewhere
    alpha = np.array([np.asarray(model.get_layer(f"{s}_stitch_1").get_weights()[0])[:, 0] for s in slugs])
    np.testing.assert_allclose(alpha, [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], rtol=1e-6)
    # make the units' weights arbitrary, then check x'_t = sum_s alpha[t, s] x_s layer by layer
    rng = np.random.default_rng(0)
    for depth in (1, 3):
        for s in slugs:
            model.get_layer(f"{s}_stitch_{depth}").set_weights([rng.normal(size=(3, 1)).astype("float32")])
    out = {k: np.asarray(v, dtype=np.float64) for k, v in model(x.astype("float32"), training=False).items()}
    h = {s: x for s in slugs}
    for depth in range(1, 5):
        h = {s: dense(model, f"{s}_{depth}", h[s]) for s in slugs}
        if depth in (1, 3):
            alpha = np.stack(
                [np.asarray(model.get_layer(f"{s}_stitch_{depth}").get_weights()[0])[:, 0] for s in slugs]
            )
            stacked = np.stack([h[s] for s in slugs])  # (T, B, d)
            h = {s: np.einsum("s,sbd->bd", alpha[t], stacked) for t, s in enumerate(slugs)}
    for s in slugs:
        np.testing.assert_allclose(out[s], h[s], rtol=1e-5, atol=1e-6)
    assert model.get_layer("a_stitch_1").trainable and "a_stitch_2" not in [
        layer.name for layer in model.layers
    ]


def _ple_by_hand(model, x, slugs, levels, level_depths, n_task, n_shared):
    """Tang et al. 2020, eq. (5)-(7): task gates over own + shared experts, shared gates over all."""
    task_in, shared_in = {s: x for s in slugs}, x
    for k in range(1, levels + 1):
        depths = level_depths[k - 1]
        own = {
            s: [mlp(model, f"level{k}_{s}_expert{i}", task_in[s], depths) for i in range(1, n_task + 1)]
            for s in slugs
        }
        shared = [mlp(model, f"level{k}_shared_expert{i}", shared_in, depths) for i in range(1, n_shared + 1)]
        out = {}
        for s in slugs:
            gate = dense(model, f"level{k}_{s}_gate", task_in[s], softmax)
            out[s] = np.einsum("be,ebd->bd", gate, np.stack([*own[s], *shared]))
        if k < levels:
            every = [e for s in slugs for e in own[s]] + shared
            gate = dense(model, f"level{k}_shared_gate", shared_in, softmax)
            shared_in = np.einsum("be,ebd->bd", gate, np.stack(every))
        else:
            assert f"level{k}_shared_gate" not in [layer.name for layer in model.layers]
        task_in = out
    return task_in


@pytest.mark.parametrize(("levels", "level_depths"), [(2, [(1, 2), (3, 4)]), (3, [(1, 2), (3,), (4,)])])
def test_ple_levels_follow_the_paper(levels, level_depths):
    arch = ProgressiveLayeredExtraction(WIDTHS, NO_DROPOUT, levels=levels, shared_experts=2, task_experts=1)
    # the study's layers are split over the levels in order (level k's experts: layers of level k)
    model, x, out = towers_of(arch)
    renumbered = [tuple(range(1, len(depths) + 1)) for depths in level_depths]  # experts count from 1
    expected = _ple_by_hand(model, x, [t.slug for t in TASKS], levels, renumbered, 1, 2)
    for task in TASKS:
        np.testing.assert_allclose(out[task.slug], expected[task.slug], rtol=1e-5, atol=1e-6)
    assert [len(w) for w in arch.level_widths] == [len(d) for d in level_depths]


def test_cgc_is_ple_with_one_level():
    arch = CustomizedGateControl(
        WIDTHS, NO_DROPOUT, shared_experts=1, task_experts=2, expert_widths=[9, 5], expert_dropout=[0, 0]
    )
    assert arch.levels == 1 and "levels" not in arch.describe()["architecture"]
    model, x, out = towers_of(arch)
    expected = _ple_by_hand(model, x, [t.slug for t in TASKS], 1, [(1, 2)], 2, 1)
    for task in TASKS:
        np.testing.assert_allclose(out[task.slug], expected[task.slug], rtol=1e-5, atol=1e-6)


# --- parameter counts -------------------------------------------------------------------------

ARCHITECTURES = {
    "cross_stitch": {"layers": "all", "alpha_same": 0.9},
    "cross_stitch_some": {"layers": [2, 4], "alpha_same": 1.0},
    "mmoe": {"experts": 4},
    "mmoe_narrow": {"experts": 1, "expert_widths": [5], "expert_dropout": [0.5]},
    "cgc": {"shared_experts": 2, "task_experts": 1},
    "ple": {"levels": 2, "shared_experts": 1, "task_experts": 2},
    "ple_deep": {"levels": 4, "shared_experts": 2, "task_experts": 1},
}


@pytest.mark.parametrize("case", sorted(ARCHITECTURES))
@pytest.mark.parametrize("n_tasks", [3, 2, 1])
def test_parameter_count_equals_keras(case, n_tasks):
    name = case.split("_some")[0].split("_narrow")[0].split("_deep")[0]
    arch = create(name, WIDTHS, [0.0, 0.0, 0.5, 0.5], **ARCHITECTURES[case])
    tasks = TASKS[:n_tasks]
    model = build_model(DIM, tasks, arch)
    assert count_parameters(DIM, tasks, arch) == model.count_params()
    assert arch.parameter_count(DIM, tasks) == sum(
        int(np.prod(w.shape))
        for layer in model.layers
        if layer.name not in {t.slug for t in tasks}
        for w in layer.trainable_weights
    )


def test_parameter_counts_written_out():
    tasks = TASKS
    # MMoE: E experts on the input, one gate (input x E, + E biases) per task
    mmoe = MultiGateMixtureOfExperts(WIDTHS, NO_DROPOUT, experts=2, expert_widths=[4], expert_dropout=[0])
    assert mmoe.parameter_count(DIM, tasks) == 2 * (21 * 4) + 3 * (21 * 2)
    # cross-stitch: T towers and one T x T matrix per unit
    stitch = CrossStitch([4, 3], [0.0, 0.0], layers="all", alpha_same=0.9)
    assert stitch.parameter_count(DIM, tasks) == 3 * (21 * 4 + 5 * 3) + 2 * 9
    # PLE, 2 levels of one layer each, 1 task and 1 shared expert: level 1 has a shared gate
    ple = ProgressiveLayeredExtraction([4, 3], [0.0, 0.0], levels=2, shared_experts=1, task_experts=1)
    level1 = 4 * 21 * 4 + 3 * 21 * 2 + 21 * 4
    level2 = 4 * 5 * 3 + 3 * 5 * 2
    assert ple.parameter_count(DIM, tasks) == level1 + level2


# --- registry, options and what a run records -------------------------------------------------


def test_registry_names_the_soft_architectures():
    assert swept_architectures() == ["cgc", "cross_stitch", "mmoe", "ple"]
    assert get("mmoe") is MultiGateMixtureOfExperts and get("cgc") is CustomizedGateControl


def test_describe_records_the_name_and_resolved_options():
    arch = create("mmoe", WIDTHS, [0.0, 0.0, 0.5, 0.5], experts=2)
    assert arch.describe() == {
        "architecture": {
            "name": "mmoe",
            "experts": 2,
            "expert_widths": WIDTHS,
            "expert_dropout": [0.0, 0.0, 0.5, 0.5],
        }
    }
    stitch = create("cross_stitch", WIDTHS, NO_DROPOUT, layers="all", alpha_same=0.9)
    assert stitch.describe() == {
        "architecture": {"name": "cross_stitch", "layers": [1, 2, 3, 4], "alpha_same": 0.9}
    }


def test_initial_alpha_rows_sum_to_one():
    alpha = initial_alpha(4, 0.7)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0)
    assert alpha[2, 2] == pytest.approx(0.7) and alpha[0, 3] == pytest.approx(0.1)
    assert initial_alpha(1, 0.9).tolist() == [[1.0]]


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("mmoe", {"experts": 0}, r"architectures.mmoe.experts = 0: give a whole number of at least 1"),
        (
            "mmoe",
            {"experts": 2, "expert_widths": []},
            r"architectures.mmoe.expert_widths = \[\]: give a non-empty",
        ),
        ("mmoe", {"experts": 2, "expert_widths": [4, 0]}, r"architectures.mmoe.expert_widths = \[4, 0\]"),
        (
            "mmoe",
            {"experts": 2, "expert_widths": [4, 4]},
            r"architectures.mmoe.expert_dropout is null, which takes model.dropout = \[0.0, 0.0, 0.0, "
            r"0.0\], but architectures.mmoe.expert_widths = \[4, 4\] has 2 layers; give "
            r"architectures.mmoe.expert_dropout, one dropout rate per expert layer",
        ),
        (
            "ple",
            {"levels": 5, "shared_experts": 1, "task_experts": 1},
            r"architectures.ple.levels = 5: each level needs at least one expert layer",
        ),
        ("cgc", {"shared_experts": 1, "task_experts": 0}, r"architectures.cgc.task_experts = 0"),
        (
            "cross_stitch",
            {"layers": [0, 2], "alpha_same": 0.9},
            r"architectures.cross_stitch.layers = \[0, 2\]: give 'all' or a non-empty list of distinct "
            r"hidden-layer numbers from 1 to 4",
        ),
        ("cross_stitch", {"layers": "all", "alpha_same": 0}, r"architectures.cross_stitch.alpha_same = 0"),
    ],
)
def test_bad_options_name_the_key_the_value_and_what_is_allowed(name, options, message):
    with pytest.raises(ValueError, match=message):
        create(name, WIDTHS, NO_DROPOUT, **options)


# --- the PyTorch fast path and a real run -----------------------------------------------------


def test_architectures_train_on_the_pytorch_fast_path(tmp_path, tiny_prepared):
    """tests/torch_architecture_checks.py: sparse first layers and the lean forward pass equal Keras,
    and a bfloat16 run of each architecture records it in metrics.json; the saved models are plain
    Keras models that load on another backend (JAX here) without mtrl's code."""
    import subprocess
    import sys

    from conftest import REPO

    script = REPO / "tests" / "torch_architecture_checks.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(tiny_prepared), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.count("ok ") == 2, proc.stdout
    for name in swept_architectures():
        model = keras.saving.load_model(tmp_path / name / "model.keras")
        assert type(model).__module__.startswith("keras.")
        pred = model.predict_on_batch(np.zeros((2, 300), dtype="float32"))
        assert sorted(pred) == ["t_close", "t_reg", "t_target"]
        assert np.isfinite(np.asarray(pred["t_reg"])).all()
