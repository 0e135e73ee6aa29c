"""Predictions whose first layer reads the sparse word counts directly.

A song has ~90 of 5,000 words: the first Dense layer of a float32 evaluation batch costs 86 ms
as a dense product (900 rows, one thread) and ~10 ms as a sparse one (SciPy CSR x dense), with
the same values to float rounding. :func:`sparse_first_layer_plan` splits a trained model into its
first Dense layers (those that read the input) and the rest (a Keras model over their outputs);
:func:`predict_sparse` runs the first part on CSR rows in NumPy and the rest through Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import keras
import numpy as np
import scipy.sparse as sp

_NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0, out=x),
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


@dataclass
class SparsePlan:
    """First Dense layers as NumPy weights, the rest of the network, and the output maps."""

    kernels: list[np.ndarray]
    biases: list[np.ndarray | None]
    activations: list[Callable[[np.ndarray], np.ndarray]]
    rest: keras.Model
    rescale: dict[str, tuple[float, float]]  # output -> (scale, offset) of a Rescaling head

    def predict(self, block: sp.csr_matrix, n_rows: int) -> dict[str, np.ndarray]:
        """:func:`predict_sparse` with this plan."""
        return predict_sparse(self, block, n_rows)


def input_dense_layers(model: keras.Model, activations: Collection[str]) -> list[keras.layers.Dense] | None:
    """The Dense layers that read ``model``'s single input, or None unless every reader of the
    input is such a layer: called once, activation in ``activations``, no LoRA or quantisation."""
    if len(model.inputs) != 1:
        return None
    source = model.inputs[0]
    found = []
    for layer in model.layers:
        nodes = getattr(layer, "_inbound_nodes", [])
        if any(any(t is source for t in node.input_tensors) for node in nodes):
            if not isinstance(layer, keras.layers.Dense) or len(nodes) != 1:
                return None
            name = getattr(layer.activation, "__name__", "")
            if name not in activations or layer.lora_enabled or layer.quantization_mode:
                return None
            found.append(layer)
    return found or None


def sparse_first_layer_plan(model: keras.Model) -> SparsePlan | None:
    """The plan for ``model`` (a network of :func:`mtrl.model.build_model`, bare or wrapped by
    :func:`mtrl.model.with_original_units`), or None where it does not have that shape."""
    inner, rescale = unwrap_units(model)
    firsts = input_dense_layers(inner, _NUMPY_ACTIVATIONS) if inner is not None else None
    if firsts is None:
        return None
    try:
        rest = keras.Model(inputs=[layer.output for layer in firsts], outputs=inner.outputs)
    except ValueError:
        return None
    return SparsePlan(
        kernels=[keras.ops.convert_to_numpy(layer.kernel).astype(np.float32) for layer in firsts],
        biases=[
            keras.ops.convert_to_numpy(layer.bias).astype(np.float32) if layer.use_bias else None
            for layer in firsts
        ],
        activations=[_NUMPY_ACTIVATIONS[layer.activation.__name__] for layer in firsts],
        rest=rest,
        rescale=rescale,
    )


def unwrap_units(model: keras.Model) -> tuple[keras.Model | None, dict[str, tuple[float, float]]]:
    """(trained network, output -> Rescaling scale/offset) of a bare or wrapped model."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        return model, {}
    if len(nested) != 1:
        return None, {}
    inner, rescale = nested[0], {}
    for name in model.output_names:
        head = model.get_layer(name) if name in {layer.name for layer in model.layers} else None
        if isinstance(head, keras.layers.Rescaling):
            rescale[name] = (float(head.scale), float(head.offset))
        elif not isinstance(head, keras.layers.Identity):
            return None, {}
    if sorted(inner.output_names) != sorted(model.output_names):
        return None, {}
    return inner, rescale


def predict_sparse(plan: SparsePlan, block: sp.csr_matrix, n_rows: int) -> dict[str, np.ndarray]:
    """Outputs for the transformed CSR rows ``block``, padded to ``n_rows`` rows for Keras."""
    hidden = []
    for kernel, bias, activation in zip(plan.kernels, plan.biases, plan.activations, strict=True):
        h = np.zeros((n_rows, kernel.shape[1]), dtype=np.float32)
        h[: block.shape[0]] = block @ kernel
        if bias is not None:
            h += bias
        hidden.append(activation(h))
    out = plan.rest.predict_on_batch(hidden)
    if not isinstance(out, dict):
        out = dict(zip(plan.rest.output_names, out if isinstance(out, list) else [out], strict=True))
    return rescaled(out, plan.rescale, block.shape[0])


def rescaled(
    outputs: dict[str, np.ndarray], rescale: dict[str, tuple[float, float]], n_rows: int
) -> dict[str, np.ndarray]:
    """The first ``n_rows`` of each output as float64, mapped to original units by ``rescale``."""
    result = {}
    for name, value in outputs.items():
        value = np.asarray(value, dtype=np.float64)[:n_rows]
        if name in rescale:
            scale, offset = rescale[name]
            value = value * scale + offset
        result[name] = value
    return result
