import keras
import numpy as np
import pytest

from mtrl.architectures.hard import HardSharing
from mtrl.architectures.presets import BUILTIN_PRESETS
from mtrl.model import build_model, compile_model, count_parameters, with_original_units
from mtrl.tasks import TaskSpec

TASKS = [TaskSpec("a", "binary"), TaskSpec("b:x", "regression"), TaskSpec("c", "multiclass", ("p", "q", "r"))]
WIDTHS = [32, 16, 8, 4]
DROPOUT = [0.0, 0.0, 0.5, 0.5]


def _hard(mask):
    return HardSharing(WIDTHS, DROPOUT, sharing_mask=mask)


def _model(mask, tasks=TASKS):
    return build_model(40, tasks, _hard(mask))


@pytest.mark.parametrize("preset", sorted(BUILTIN_PRESETS))
def test_parameter_count_equals_closed_form(preset):
    mask = BUILTIN_PRESETS[preset]
    model = _model(mask)
    expected = count_parameters(40, TASKS, _hard(mask))
    assert model.count_params() == expected
    # the architecture counts the hidden layers, the heads come on top
    heads = sum(5 * t.n_outputs for t in TASKS)
    assert _hard(mask).parameter_count(40, TASKS) == expected - heads
    # closed form written out for the low preset: layers 1-2 once, layers 3-4 and heads per task
    if preset == "low":
        shared = 41 * 32 + 33 * 16
        private = 3 * (17 * 8 + 9 * 4)
        heads = 5 * 1 + 5 * 1 + 5 * 3
        assert expected == shared + private + heads


def test_single_task_model_has_one_tower():
    model = _model([0, 0, 0, 0], tasks=TASKS[:1])
    assert model.count_params() == 41 * 32 + 33 * 16 + 17 * 8 + 9 * 4 + 5
    assert count_parameters(40, TASKS[:1], _hard([1, 1, 1, 1])) == model.count_params()


def test_shared_layer_is_one_object_used_by_every_tower():
    model = _model(BUILTIN_PRESETS["interspersed"])
    names = [layer.name for layer in model.layers]
    assert names.count("shared_1") == 1 and names.count("shared_4") == 1
    shared4 = model.get_layer("shared_4")
    # layer 4 follows private layers, so the one layer object is called once per task tower
    assert len(shared4._inbound_nodes) == len(TASKS)
    for task in TASKS:
        assert f"{task.slug}_2" in names and f"{task.slug}_3" in names
    assert not any(name.startswith("a_1") for name in names)


def test_outputs_are_named_after_tasks_and_have_the_right_heads():
    model = _model(BUILTIN_PRESETS["low"])
    out = model(np.zeros((2, 40), dtype="float32"))
    assert set(out) == {"a", "b_x", "c"}
    assert out["a"].shape == (2, 1) and out["c"].shape == (2, 3)
    assert np.allclose(np.asarray(out["c"]).sum(axis=1), 1.0, atol=1e-5)


def _weights(model, name):
    return [np.array(w) for w in model.get_layer(name).get_weights()]


def test_gradient_step_on_one_task_changes_shared_and_only_its_private_layers():
    keras.utils.set_random_seed(0)
    model = _model(BUILTIN_PRESETS["low"])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss={"a": "binary_crossentropy", "b_x": "mse", "c": "sparse_categorical_crossentropy"},
        loss_weights={"a": 1.0, "b_x": 0.0, "c": 0.0},
    )
    layers = ["shared_1", "shared_2", "a_3", "a_4", "b_x_3", "b_x_4", "c_3", "c_4", "b_x", "c"]
    before = {name: _weights(model, name) for name in layers}
    rng = np.random.default_rng(0)
    x = rng.random((16, 40)).astype("float32")
    y = {
        "a": rng.integers(0, 2, (16, 1)).astype("float32"),
        "b_x": rng.normal(size=(16, 1)),
        "c": rng.integers(0, 3, 16),
    }
    model.train_on_batch(x, y)
    changed = {
        name: any(not np.array_equal(b, a) for b, a in zip(before[name], _weights(model, name), strict=False))
        for name in layers
    }
    assert changed["shared_1"] and changed["shared_2"] and changed["a_3"] and changed["a_4"]
    assert not any(changed[name] for name in ["b_x_3", "b_x_4", "c_3", "c_4", "b_x", "c"])


def test_dropout_only_in_training():
    model = _model(BUILTIN_PRESETS["full"])
    x = np.random.default_rng(1).random((8, 40)).astype("float32")
    a = np.asarray(model(x, training=False)["a"])
    b = np.asarray(model(x, training=False)["a"])
    assert np.array_equal(a, b)
    c = np.asarray(model(x, training=True)["a"])
    assert not np.allclose(a, c)


def test_saved_model_reports_regression_in_original_units(tmp_path):
    model = _model(BUILTIN_PRESETS["low"])
    compile_model(model, TASKS, "adam", 1e-3)
    saved = with_original_units(model, TASKS, {"b:x": (100.0, 10.0)})
    path = tmp_path / "m.keras"
    saved.save(path)
    loaded = keras.saving.load_model(path)
    x = np.random.default_rng(2).random((4, 40)).astype("float32")
    raw = np.asarray(model(x, training=False)["b_x"])
    assert np.allclose(np.asarray(loaded(x, training=False)["b_x"]), raw * 10.0 + 100.0, atol=1e-4)
    assert np.allclose(
        np.asarray(loaded(x, training=False)["a"]), np.asarray(model(x, training=False)["a"]), atol=1e-6
    )


def test_mismatched_mask_is_rejected():
    with pytest.raises(ValueError, match="one entry per hidden layer"):
        _hard([True, False])
    with pytest.raises(ValueError, match="one rate per hidden layer"):
        HardSharing(WIDTHS, [0.5], sharing_mask=[1, 1, 0, 0])
    with pytest.raises(ValueError, match="entries must be 0"):
        _hard([1, 2, 0, 0])


def test_a_model_needs_a_task():
    with pytest.raises(ValueError, match="at least one task"):
        build_model(40, [], _hard([1, 1, 0, 0]))


def test_no_hidden_layer_puts_the_heads_on_the_input():
    head_only = HardSharing((), (), sharing_mask=())
    model = build_model(40, TASKS, head_only)
    assert model.count_params() == count_parameters(40, TASKS, head_only) == 41 * 5


@pytest.mark.parametrize("preset", ["low", "high", "interspersed"])
def test_paired_initial_weights_give_the_target_tower_its_single_task_partners_weights(preset):
    from mtrl.model import paired_initial_weights

    def kernels(tasks, mask, seed):
        keras.utils.set_random_seed(seed)  # as a run seeds its backend before building
        model = build_model(40, tasks, _hard(mask))
        paired_initial_weights(model, seed, "a")
        return {layer.name: layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")}

    multi, single = kernels(TASKS, BUILTIN_PRESETS[preset], 3), kernels(TASKS[:1], [0, 0, 0, 0], 3)
    for depth, shared in enumerate(BUILTIN_PRESETS[preset], start=1):
        own = multi[f"shared_{depth}" if shared else f"a_{depth}"]
        assert np.array_equal(own, single[f"hidden_{depth}"])
        if not shared:  # another task's tower has weights of its own
            assert not np.array_equal(multi[f"c_{depth}"], single[f"hidden_{depth}"])
    assert np.array_equal(multi["a"], single["a"])  # the target's head
    assert not np.array_equal(kernels(TASKS[:1], [0, 0, 0, 0], 4)["hidden_1"], single["hidden_1"])
    limit = np.sqrt(6 / (40 + 32))  # still Glorot uniform
    assert np.abs(single["hidden_1"]).max() <= limit and single["hidden_1"].std() > limit / 3
