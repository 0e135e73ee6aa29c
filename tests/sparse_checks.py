"""Checks of mtrl.backends.sparse_predict and the PyTorch sparse plan, run in a process of their own."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtrl.runtime import configure

configure("torch", threads=1)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from mtrl.architectures.hard import HardSharing  # noqa: E402
from mtrl.backends.sparse_predict import predict_sparse, sparse_first_layer_plan  # noqa: E402
from mtrl.backends.torch.predict import TorchSparsePlan  # noqa: E402
from mtrl.model import build_model, with_original_units  # noqa: E402
from mtrl.tasks import TaskSpec  # noqa: E402

TASKS = [TaskSpec("a", "binary"), TaskSpec("b", "regression"), TaskSpec("c", "multiclass", ("x", "y", "z"))]


def check_sparse_equals_dense() -> None:
    block = sp.random(7, 60, density=0.1, format="csr", dtype=np.float32, random_state=1)
    for mask in ((True, True, False, False), (False, False, True, True), (True, False, False, True)):
        keras.utils.set_random_seed(0)
        model = build_model(60, TASKS, HardSharing((16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), sharing_mask=mask))
        for candidate in (model, with_original_units(model, TASKS, {"b": (10.0, 2.0)})):
            plan = sparse_first_layer_plan(candidate)
            assert plan is not None, mask
            assert len(plan.kernels) == (1 if mask[0] else 3), (mask, len(plan.kernels))
            torch_plan = TorchSparsePlan.of(candidate)
            assert torch_plan is not None, mask
            dense = candidate.predict_on_batch(np.vstack([block.toarray(), np.zeros((1, 60), np.float32)]))
            for sparse in (predict_sparse(plan, block, n_rows=8), torch_plan.predict(block)):
                assert sorted(sparse) == ["a", "b", "c"]
                for name, value in sparse.items():
                    assert value.shape[0] == 7 and value.dtype == np.float64
                    np.testing.assert_allclose(value, np.asarray(dense[name])[:7], rtol=1e-5, atol=1e-5)
        assert sparse_first_layer_plan(candidate).rescale == {"b": (2.0, 10.0)}


def check_kernel_gradient_from_non_zeros() -> None:
    """The first layer's kernel gradient x^T @ dy from the batch's non-zeros (rows and columns
    without any, repeated words) equals the dense float64 product, through autograd too."""
    import torch

    from mtrl.backends.torch.sparse import SparseInputMatmul, SparseRows

    block = sp.random(9, 40, density=0.15, format="csr", dtype=np.float32, random_state=3).toarray()
    block[4] = 0.0  # a row without words
    block[:, 7] = 0.0  # a word in no row
    block *= 3.0  # counts above 1
    x = torch.as_tensor(block)
    dy = torch.randn(9, 6, generator=torch.Generator().manual_seed(0))
    expected = block.astype(np.float64).T @ dy.double().numpy()
    rows = SparseRows.from_dense(x)
    for _ in range(2):  # the second from the layout the first built
        product = rows.transpose_matmul(dy)
        assert product.dtype == torch.float32 and tuple(product.shape) == (40, 6)
        np.testing.assert_allclose(product.numpy(), expected, rtol=1e-5, atol=1e-6)
        assert not product[7].any()
    kernel = torch.randn(40, 6, requires_grad=True)
    out = SparseInputMatmul.apply(kernel, SparseRows.from_dense(x))
    np.testing.assert_allclose(out.detach().numpy(), block @ kernel.detach().numpy(), rtol=1e-5, atol=1e-5)
    out.backward(dy)
    np.testing.assert_allclose(kernel.grad.numpy(), expected, rtol=1e-5, atol=1e-6)


def check_unsupported_models_fall_back() -> None:
    inputs = keras.Input((10,))
    for hidden in (
        keras.layers.Dense(4, activation="gelu")(inputs),
        keras.layers.BatchNormalization()(inputs),
    ):
        model = keras.Model(inputs, {"a": keras.layers.Dense(1, name="a")(hidden)})
        assert sparse_first_layer_plan(model) is None
        assert TorchSparsePlan.of(model) is None


if __name__ == "__main__":
    for check in (
        check_sparse_equals_dense,
        check_kernel_gradient_from_non_zeros,
        check_unsupported_models_fall_back,
    ):
        check()
        print("ok", check.__name__, flush=True)
    os._exit(0)
