"""Checks of the PyTorch training path, run in a process of their own (Keras backend = torch).

Run by tests/test_backends.py: ``python tests/torch_checks.py`` exits non-zero on the first
failed assertion.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtrl.runtime import configure

configure("torch", threads=1)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from mtrl.architectures.hard import HardSharing  # noqa: E402
from mtrl.backends.torch.adam import FusedAdam  # noqa: E402
from mtrl.backends.torch.autocast import autocast_view  # noqa: E402
from mtrl.backends.torch.layers import dropout_mask  # noqa: E402
from mtrl.model import build_model  # noqa: E402
from mtrl.tasks import TaskSpec  # noqa: E402

TASKS = [TaskSpec("a", "binary"), TaskSpec("b", "regression"), TaskSpec("c", "multiclass", ("x", "y", "z"))]


def check_fast_forward_equals_keras() -> None:
    keras.utils.set_random_seed(0)
    model = build_model(
        40, TASKS, HardSharing((16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=(True, False, False, True))
    )
    view = autocast_view(model, None)
    x = torch.rand(5, 40)
    keras_out = model(x, training=False)
    fast_out = view.fast_call(x, training=False)
    assert set(fast_out) == {"a", "b", "c"}, fast_out.keys()
    for name in fast_out:
        np.testing.assert_allclose(
            fast_out[name].detach().numpy(), keras_out[name].detach().numpy(), atol=1e-6
        )
    # the view shares the model's weights: training one trains the other
    assert all(a is b for a, b in zip(view.weights, model.weights, strict=True))
    # under bfloat16 autocast the float32 heads still return float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = view.fast_call(x, training=True)
    assert all(v.dtype == torch.float32 for v in out.values()), {k: v.dtype for k, v in out.items()}
    # ... while the hidden layers compute in bfloat16: close to float32, not equal
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = view.fast_call(x, training=False)
    gap = max((low[k] - fast_out[k]).abs().max().item() for k in low)
    assert 0 < gap < 0.1, gap


def _first_layer_gradients(view, x: torch.Tensor, dtype: str | None) -> list[np.ndarray]:
    """Gradients of the first layers' kernels for the sum of each output's first column."""
    with torch.autocast("cpu", dtype=getattr(torch, dtype or "float32"), enabled=dtype is not None):
        out = view.fast_call(x, training=False)
    for variable in view.trainable_weights:
        variable.value.grad = None
    sum(o.float()[:, 0].sum() for o in out.values()).backward()
    return [view.get_layer(name).kernel.value.grad.numpy().copy() for name in ("a_1", "b_1", "c_1")]


def check_sparse_first_layer() -> None:
    """The first layers read a bag-of-words batch through its non-zeros: same outputs and gradients."""
    keras.utils.set_random_seed(0)
    # private first layers (three towers on the input), as in the high-sharing preset
    model = build_model(
        300, TASKS, HardSharing((16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=(False, False, True, True))
    )
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((12, 300)) < 0.03, rng.integers(1, 5, (12, 300)), 0).astype("float32")
    dense[[3, 11]] = 0  # empty rows, like a padded last batch
    x = torch.from_numpy(np.log1p(dense))
    exact = autocast_view(model, None)
    assert {layer.name for layer in exact._first_dense.values()} == {"a_1", "b_1", "c_1"}
    fast = exact.fast_call(x, training=False)
    reference = model(x, training=False)
    for name in fast:
        np.testing.assert_allclose(fast[name].detach().numpy(), reference[name].detach().numpy(), atol=1e-6)
    # float32: the kernel gradients equal dense autograd's
    sparse_grads = _first_layer_gradients(exact, x, None)
    for variable in model.trainable_weights:
        variable.value.grad = None
    sum(o[:, 0].sum() for o in model(x, training=False).values()).backward()
    for name, grad in zip(("a_1", "b_1", "c_1"), sparse_grads, strict=True):
        expected = model.get_layer(name).kernel.value.grad.numpy()
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
        # a word absent from the batch gets no gradient
        assert not grad[dense.sum(axis=0) == 0].any()
    # bfloat16: close to float32 (x^T dy is float32 now, but dy comes through layers in bfloat16)
    low_grads = _first_layer_gradients(autocast_view(model, "bfloat16"), x, "bfloat16")
    for grad, low in zip(sparse_grads, low_grads, strict=True):
        assert low.dtype == np.float32
        np.testing.assert_allclose(low, grad, rtol=0.05, atol=0.02 * np.abs(grad).max())
    # an all-zero batch: the layer returns its bias
    zeros = torch.zeros(2, 300)
    fast_zero, keras_zero = exact.fast_call(zeros, training=False), model(zeros, training=False)
    np.testing.assert_allclose(fast_zero["a"].detach().numpy(), keras_zero["a"].detach().numpy(), atol=1e-6)


def check_sparse_batches_train_like_dense_ones() -> None:
    """fit() on the pipeline's non-zeros (SparseRows.from_parts) gives the same weights and history
    as on dense batches (read through their non-zeros by SparseRows.from_dense; the dense maths
    itself is checked against Keras in check_sparse_first_layer)."""
    import scipy.sparse as sp

    from mtrl.backends.host_batches import keras_dataset
    from mtrl.data.batches import BatchSource, TaskTargets
    from mtrl.model import compile_model

    rng = np.random.default_rng(3)
    rows = 50
    features = sp.random(rows, 300, density=0.05, format="csr", dtype=np.float32, random_state=3)
    targets = {
        "a": TaskTargets(rng.integers(0, 2, (rows, 1)).astype("float32"), np.ones(rows, bool)),
        "b": TaskTargets(rng.normal(size=(rows, 1)).astype("float32"), rng.random(rows) < 0.7),
    }
    tasks = TASKS[:2]
    results = []
    for sparse in (False, True):
        keras.utils.set_random_seed(0)
        model = build_model(
            300,
            tasks,
            HardSharing((16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=(False, False, True, True)),
        )
        view = autocast_view(model, "bfloat16")
        assert view.reads_sparse_batches
        compile_model(view, tasks, FusedAdam(learning_rate=0.01), 0.01)
        train = BatchSource(features, np.arange(40), targets, 16, sparse=sparse)
        val = BatchSource(
            features,
            np.arange(40, rows),
            {k: TaskTargets(t.values[40:], t.mask[40:]) for k, t in targets.items()},
            16,
            sparse=sparse,
        )
        history = view.fit(
            keras_dataset(train, shuffle=True, seed=0),
            validation_data=keras_dataset(val, shuffle=False, seed=0),
            epochs=2,
            verbose=0,
        )
        results.append((history.history, model.get_weights()))
    (dense_history, dense_weights), (sparse_history, sparse_weights) = results
    assert dense_history == sparse_history, (dense_history, sparse_history)
    assert "val_loss" in sparse_history and len(sparse_history["loss"]) == 2
    for dense_w, sparse_w in zip(dense_weights, sparse_weights, strict=True):
        np.testing.assert_array_equal(dense_w, sparse_w)


def check_lean_losses_and_metrics_equal_keras() -> None:
    """LeanCompiled: the same history and weights as Keras's compute_loss/compute_metrics, with the
    label-mask weights alone and with class weights multiplied in (training.class_weight: balanced)."""
    import scipy.sparse as sp

    from mtrl.data.batches import TaskTargets
    from mtrl.data.class_weights import balanced_row_weights

    rng = np.random.default_rng(5)
    rows = 60
    features = sp.random(rows, 300, density=0.05, format="csr", dtype=np.float32, random_state=5)
    targets = {
        "a": TaskTargets(rng.integers(0, 2, (rows, 1)).astype("float32"), rng.random(rows) < 0.8),
        "b": TaskTargets(rng.normal(size=(rows, 1)).astype("float32"), rng.random(rows) < 0.6),
        # multiclass targets as mtrl.train builds them: int32 class indices, one per row
        "c": TaskTargets(rng.integers(0, 3, rows).astype("int32"), rng.random(rows) < 0.7),
    }
    _lean_equals_keras(features, targets)
    weighted = dict(targets)
    for k in ("a", "c"):
        labels = np.where(targets[k].mask, targets[k].values.reshape(-1), np.nan)
        weighted[k] = TaskTargets(targets[k].values, targets[k].mask, balanced_row_weights(labels))
    _lean_equals_keras(features, weighted)


def _lean_equals_keras(features, targets) -> None:
    from mtrl.backends.host_batches import keras_dataset
    from mtrl.backends.torch.lean import LeanCompiled
    from mtrl.data.batches import BatchSource, TaskTargets
    from mtrl.model import compile_model

    rows = features.shape[0]
    results = []
    for lean in (False, True):
        keras.utils.set_random_seed(0)
        model = build_model(
            300,
            TASKS,
            HardSharing((16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=(True, False, False, True)),
        )
        view = autocast_view(model, "bfloat16")
        compile_model(view, TASKS, FusedAdam(learning_rate=0.01), 0.01, {"b": 0.5})
        if not lean:
            view._lean_compiled = None  # Keras's own loss and metrics
        train = BatchSource(features, np.arange(45), targets, 16, sparse=True)
        val_targets = {k: TaskTargets(t.values[45:], t.mask[45:]) for k, t in targets.items()}
        val = BatchSource(features, np.arange(45, rows), val_targets, 16, sparse=True)
        history = view.fit(
            keras_dataset(train, shuffle=True, seed=0),
            validation_data=keras_dataset(val, shuffle=False, seed=0),
            epochs=3,
            verbose=0,
        )
        assert isinstance(view._lean_compiled, LeanCompiled) == lean, view._lean_compiled
        # metric state never joins the autograd graph (it would keep every step's graph alive)
        for variable in view.metrics_variables:
            assert not variable.value.requires_grad and variable.value.grad_fn is None, variable.path
        results.append((history.history, model.get_weights()))
    (keras_history, keras_weights), (lean_history, lean_weights) = results
    assert sorted(lean_history) == sorted(keras_history), (sorted(lean_history), sorted(keras_history))
    for key, values in keras_history.items():
        np.testing.assert_array_equal(lean_history[key], values, err_msg=key)
    for keras_w, lean_w in zip(keras_weights, lean_weights, strict=True):
        np.testing.assert_array_equal(lean_w, keras_w)


def check_lean_falls_back_to_keras() -> None:
    """Models compiled without metrics, or fed without sample weights, train through Keras's code."""
    keras.utils.set_random_seed(0)
    tasks = TASKS[:1]
    model = build_model(
        30, tasks, HardSharing((8, 8, 4, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=(True, True, True, True))
    )
    view = autocast_view(model, "bfloat16")
    view.compile(optimizer=FusedAdam(learning_rate=0.01), loss={"a": "binary_crossentropy"})
    x = np.random.default_rng(0).random((32, 30)).astype("float32")
    y = {"a": np.ones((32, 1), "float32")}
    history = view.fit(x, y, batch_size=16, epochs=2, verbose=0).history  # no metrics, no weights
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all(), history
    # a head reading the input directly keeps a float32 kernel gradient
    head_only = build_model(30, tasks, HardSharing((), (), sharing_mask=()))
    fast = autocast_view(head_only, "bfloat16")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fast.fast_call(torch.from_numpy(x), training=True)
    out["a"].sum().backward()
    exact = torch.from_numpy(x).T @ (out["a"] * (1 - out["a"])).detach()
    np.testing.assert_allclose(head_only.get_layer("a").kernel.value.grad.numpy(), exact.numpy(), rtol=1e-5)


def check_dropout_mask() -> None:
    torch.manual_seed(0)
    for rate in (0.5, 0.2, 0.9):
        mask = dropout_mask(torch.Size((400, 250)), rate, torch.device("cpu"))
        assert mask.shape == (400, 250) and mask.dtype == torch.bool
        kept = mask.float().mean().item()
        assert abs(kept - (1 - rate)) < 0.01, (rate, kept)
    # an odd number of elements (not a multiple of four) works too
    assert dropout_mask(torch.Size((3, 7)), 0.5, torch.device("cpu")).shape == (3, 7)
    torch.manual_seed(1)
    first = dropout_mask(torch.Size((64, 64)), 0.5, torch.device("cpu"))
    torch.manual_seed(1)
    assert torch.equal(first, dropout_mask(torch.Size((64, 64)), 0.5, torch.device("cpu")))


def check_fused_adam_matches_keras_adam() -> None:
    keras.utils.set_random_seed(0)
    start = [
        np.random.default_rng(i).normal(size=s).astype("float32") for i, s in enumerate([(30, 20), (20,)])
    ]
    grads = [
        np.random.default_rng(10 + i).normal(size=s).astype("float32")
        for i, s in enumerate([(30, 20), (20,)])
    ]
    results = []
    for cls in (keras.optimizers.Adam, FusedAdam):
        variables = [keras.Variable(v) for v in start]
        opt = cls(learning_rate=0.01)
        for _ in range(3):
            opt.apply([torch.from_numpy(g) for g in grads], variables)
        results.append([keras.ops.convert_to_numpy(v) for v in variables])
        assert int(keras.ops.convert_to_numpy(opt.iterations)) == 3
    for keras_value, fused_value in zip(*results, strict=True):
        assert not np.allclose(keras_value, start[0] if keras_value.ndim == 2 else start[1])
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-5, atol=1e-6)


if __name__ == "__main__":
    checks = [
        check_fast_forward_equals_keras,
        check_sparse_first_layer,
        check_sparse_batches_train_like_dense_ones,
        check_lean_losses_and_metrics_equal_keras,
        check_lean_falls_back_to_keras,
        check_dropout_mask,
        check_fused_adam_matches_keras_adam,
    ]
    for check in checks:
        check()
        print("ok", check.__name__, flush=True)
    os._exit(0)
