"""A NaN output gives a NaN loss instead of PyTorch's error (a device-side assert on a GPU)."""

import math

import pytest

torch = pytest.importorskip("torch")

from mtrl.backends.torch.nan_safe import nan_safe_loss  # noqa: E402


def _bce(target, output):
    return torch.nn.functional.binary_cross_entropy(output, target, reduction="none").mean(-1)


def test_binary_cross_entropy_of_a_nan_probability_is_nan_for_that_sample_only():
    target = torch.tensor([[[1.0], [0.0]], [[1.0], [1.0]]])
    output = torch.tensor([[[0.9], [float("nan")]], [[0.2], [0.7]]])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        _bce(target, output)  # what the guard is for
    loss = nan_safe_loss(_bce, target, output)
    assert loss.shape == (2, 2)
    assert math.isnan(loss[0, 1])
    expected = _bce(target, torch.where(torch.isnan(output), 0.5, output))
    finite = ~torch.isnan(loss)
    assert torch.equal(loss[finite], expected[finite]) and int(finite.sum()) == 3


def test_a_sample_with_any_nan_class_probability_is_nan_and_gradients_stay_finite():
    output = torch.tensor([[0.2, 0.8], [float("nan"), 0.5], [0.6, 0.4]], requires_grad=True)
    target = torch.tensor([1, 0, 0])

    def sparse_ce(t, p):
        return -torch.log(p.gather(-1, t[:, None])).squeeze(-1)

    loss = nan_safe_loss(sparse_ce, target, output)
    assert [math.isnan(v) for v in loss.tolist()] == [False, True, False]
    loss[~torch.isnan(loss)].sum().backward()
    assert torch.isfinite(output.grad).all()
