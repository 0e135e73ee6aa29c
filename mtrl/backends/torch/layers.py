"""Dense and Dropout layers as bare PyTorch expressions (the lean training step's building blocks)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import torch

from mtrl.backends.keras_internals import functional
from mtrl.backends.torch.sparse import SparseInputMatmul, SparseRows

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "linear": lambda x: x,
    "softmax": lambda x: torch.softmax(x, dim=-1),
}


def dropout_mask(
    shape: torch.Size, rate: float, device: torch.device, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A Bernoulli keep-mask (1 with probability ``1 - rate``), four times cheaper than torch's.

    PyTorch's dropout draws one 32-bit random number per element; here one 64-bit draw gives four
    16-bit numbers, so ``rate`` is applied at a resolution of 1/65536 (exact for 0.5).
    ``generator``: the random stream to draw from (default: PyTorch's global one).
    """
    n = int(torch.Size(shape).numel())
    words = torch.randint(
        -(2**63), 2**63 - 1, (-(-n // 4),), dtype=torch.int64, device=device, generator=generator
    )
    threshold = round(rate * 65536) - 32768
    return (words.view(torch.int16)[:n] >= threshold).view(shape)


def sparse_input_dense(layer: keras.layers.Dense):
    """A first Dense layer over the model's input, computed from the batch's non-zeros."""
    kernel, bias = layer.kernel, layer.bias
    activation = ACTIVATIONS[layer.activation.__name__]

    def dense(x: torch.Tensor, batch: SparseRows) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            out = SparseInputMatmul.apply(kernel.value, batch)
            if bias is not None:
                out = out + bias.value
        return activation(out)

    return dense


def fast_operation(operation, training: bool, float32_head: bool):
    """A lean PyTorch callable for a Dense or Dropout layer; other operations run through Keras.

    A ``float32_head`` Dense layer computes in float32 even under autocast (an output head).
    """
    if isinstance(operation, keras.layers.Dense) and not operation.lora_enabled:
        activation = ACTIVATIONS.get(getattr(operation.activation, "__name__", ""))
        if activation is not None and operation.quantization_mode is None:
            kernel, bias = operation.kernel, operation.bias

            def dense(x: torch.Tensor, **_: object) -> torch.Tensor:
                if float32_head and torch.is_autocast_enabled(x.device.type):
                    # an output head (found by its output name) stays float32 under autocast
                    with torch.autocast(x.device.type, enabled=False):
                        return dense(x.float())
                if bias is None:
                    return activation(torch.matmul(x, kernel.value))
                return activation(torch.addmm(bias.value, x, kernel.value))

            return dense
    mixing = mixing_operation(operation)
    if mixing is not None:
        return mixing
    if isinstance(operation, keras.layers.Dropout) and operation.noise_shape is None:
        rate = float(operation.rate)

        def dropout(x: torch.Tensor, **_: object) -> torch.Tensor:
            if not training or rate == 0:
                return x
            return x * dropout_mask(x.shape, rate, x.device) * (1.0 / (1.0 - rate))

        return dropout
    return functional.operation_fn(operation, training=training)


def mixing_operation(operation):
    """A bare PyTorch callable for the layers that stack and mix towers or experts (the soft-sharing
    architectures, :mod:`mtrl.architectures.experts` and :mod:`~mtrl.architectures.cross_stitch`):
    ``Reshape``, ``Concatenate`` and a ``Dot`` over axes (1, 1) of a (batch, n) by a (batch, n, d)
    tensor (a gated sum); None for anything else. Keras's ``Layer.__call__`` costs more than their maths.
    """
    if isinstance(operation, keras.layers.Reshape):
        shape = tuple(operation.target_shape)
        return lambda x, **_: x.reshape(x.shape[0], *shape)
    if isinstance(operation, keras.layers.Concatenate):
        axis = int(operation.axis)

        def concatenate(inputs, **_: object) -> torch.Tensor:
            dtype = functools.reduce(torch.promote_types, (t.dtype for t in inputs))
            return torch.cat([t.to(dtype) for t in inputs], dim=axis)

        return concatenate
    if (
        isinstance(operation, keras.layers.Dot)
        and tuple(operation.axes) == (1, 1)
        and not operation.normalize
    ):

        def gated_sum(inputs, **_: object) -> torch.Tensor:
            gate, stack = inputs
            if gate.ndim != 2 or stack.ndim != 3:
                return operation(inputs)
            return torch.bmm(gate.unsqueeze(1).to(stack.dtype), stack).squeeze(1)

        return gated_sum
    return None
