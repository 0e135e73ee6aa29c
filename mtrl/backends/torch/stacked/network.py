"""R replicates of one Keras functional network, their weights stacked along a leading axis.

Every hidden ``Dense`` layer's kernel becomes one ``(R, in, out)`` tensor and its bias one
``(R, out)``; activations flow as ``(R, batch, width)`` and each layer is one batched product
(``baddbmm``) for all replicates. A Dense layer on the input keeps one kernel per replicate and
reads each replicate's batch from its non-zeros, as the one-run path does
(:class:`~mtrl.backends.torch.sparse.SparseInputMatmul`): its gradient is the largest tensor of
a step, so each replicate's is applied by the optimizer as soon as it is made, and freed (a
stacked ``(R, 5000, 1024)`` gradient would be mapped afresh, page by page, at every step).
Dropout draws each replicate's masks from that replicate's own generator. The graph is the Keras
model's own (walked like :meth:`~mtrl.backends.torch.autocast.AutocastModel.fast_call`), so any
network of Dense and Dropout layers (hard sharing, whatever its mask) stacks; anything else does
not (:func:`stackable`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import torch

from mtrl.backends.sparse_predict import input_dense_layers
from mtrl.backends.torch.layers import ACTIVATIONS, dropout_mask
from mtrl.backends.torch.sparse import SparseRows


class InputMatmul(torch.autograd.Function):
    """``x @ kernel`` of one replicate's batch, forward and backward from its non-zeros, as
    :class:`~mtrl.backends.torch.sparse.SparseInputMatmul`; its backward hands the kernel's
    gradient (float32, the kernel's shape) to ``update(kernel, gradient)`` at once, instead of
    keeping it as ``kernel.grad``: a replicate's gradient is gone before the next one's is made.
    """

    @staticmethod
    def forward(ctx, kernel, batch: SparseRows, update):
        ctx.batch, ctx.kernel, ctx.update = batch, kernel, update
        return batch.matmul(kernel)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        ctx.update(ctx.kernel, ctx.batch.transpose_matmul(grad))
        return None, None, None


def stackable(model: keras.Model) -> bool:
    """Whether every operation of ``model``'s graph is a Dense layer with a plain activation or a
    Dropout layer, and the layers on the input read nothing else (what :class:`StackedNetwork` runs)."""
    for layer in model.operations:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dropout):
            if layer.noise_shape is not None:
                return False
            continue
        if not isinstance(layer, keras.layers.Dense) or layer.lora_enabled or layer.quantization_mode:
            return False
        if getattr(layer.activation, "__name__", "") not in ACTIVATIONS or layer.bias is None:
            return False
    return input_dense_layers(model, ACTIVATIONS) is not None


class StackedNetwork:
    """The weights of R replicates of ``template``'s network, stacked, and its forward pass.

    ``template``: one replicate's Keras model (its graph and layer names); the weights are filled
    replicate by replicate with :meth:`set_replicate` (e.g. from each replicate's own freshly
    initialised model) and read back with :meth:`replicate_weights`. :meth:`parameters` lists
    the tensors to train (a stacked one per hidden weight, one per replicate for the kernels on
    the input); :meth:`select` maps such a list to the replicates that go on.
    """

    def __init__(self, template: keras.Model, n_stack: int, autocast_dtype: str | None) -> None:
        if not stackable(template):
            raise ValueError(f"network {template.name!r} has layers the stacked path cannot run")
        self.template = template
        self.autocast_dtype = autocast_dtype
        self.heads = set(template.output_names)
        self.first = {layer.name for layer in input_dense_layers(template, ACTIVATIONS) or []}
        self.dense = [layer for layer in template.operations if isinstance(layer, keras.layers.Dense)]
        self.values: dict[str, torch.Tensor | list[torch.Tensor]] = {}
        #: what the kernels on the input do with their gradient (an optimizer's update of one weight)
        self.on_input_gradient: Callable[[torch.Tensor, torch.Tensor], None] | None = None
        for layer in self.dense:
            kernel, bias = layer.kernel.value, layer.bias.value
            if layer.name in self.first:
                name = f"{layer.name}/kernel"
                self.values[name] = [torch.zeros(kernel.shape, device=kernel.device) for _ in range(n_stack)]
            else:
                self.values[f"{layer.name}/kernel"] = torch.zeros(
                    (n_stack, *kernel.shape), device=kernel.device
                )
            self.values[f"{layer.name}/bias"] = torch.zeros((n_stack, *bias.shape), device=bias.device)
        for tensor in self.parameters():
            tensor.requires_grad_(True)
        self.n_stack = n_stack

    @property
    def device(self) -> torch.device:
        return self.parameters()[0].device

    def parameters(self, input_kernels: bool = True) -> list[torch.Tensor]:
        """The tensors to train, in a fixed order; ``input_kernels=False``: without the kernels on
        the input (updated in the backward pass, :attr:`on_input_gradient`)."""
        tensors = []
        for value in self.values.values():
            if not isinstance(value, list):
                tensors.append(value)  # a stacked (R, ...) weight
            elif input_kernels:
                tensors += value  # one kernel on the input per replicate
        return tensors

    def select(self, tensors: Sequence[torch.Tensor], slots: Sequence[int]) -> list[torch.Tensor]:
        """``tensors`` (aligned with :meth:`parameters`, e.g. optimizer moments) for ``slots`` only."""
        index = torch.as_tensor(list(slots), dtype=torch.long, device=self.device)
        out, position = [], 0
        for value in self.values.values():
            if isinstance(value, list):
                out += [tensors[position + slot] for slot in slots]
                position += len(value)
            else:
                out.append(tensors[position].index_select(0, index))
                position += 1
        return out

    def _slot(self, name: str, slot: int) -> torch.Tensor:
        value = self.values[name]
        return value[slot]

    def set_replicate(self, slot: int, model: keras.Model) -> None:
        """Copy the Dense weights of ``model`` (the template's architecture) into slot ``slot``."""
        with torch.no_grad():
            for layer in self.dense:
                source = model.get_layer(layer.name)
                self._slot(f"{layer.name}/kernel", slot).copy_(source.kernel.value)
                self._slot(f"{layer.name}/bias", slot).copy_(source.bias.value)

    def replicate_weights(self, slot: int) -> dict[str, torch.Tensor]:
        """Detached copies of slot ``slot``'s weights (a snapshot, e.g. the best epoch's)."""
        with torch.no_grad():
            return {name: self._slot(name, slot).detach().clone() for name in self.values}

    def load_into(self, model: keras.Model, weights: dict[str, torch.Tensor]) -> None:
        """Set ``model``'s Dense layers to ``weights`` (one replicate's, from :meth:`replicate_weights`)."""
        for layer in self.dense:
            target = model.get_layer(layer.name)
            target.kernel.assign(weights[f"{layer.name}/kernel"])
            target.bias.assign(weights[f"{layer.name}/bias"])

    def keep(self, slots: Sequence[int]) -> None:
        """Keep only ``slots`` (in that order): the stack of the replicates still training."""
        kept = self.select(self.parameters(), slots)
        with torch.no_grad():
            position = 0
            for name, value in self.values.items():
                if isinstance(value, list):
                    self.values[name] = kept[position : position + len(slots)]
                    position += len(slots)
                else:
                    self.values[name] = kept[position].detach().requires_grad_(True)
                    position += 1
        self.n_stack = len(slots)

    def __call__(
        self,
        batch: Sequence[SparseRows],
        training: bool,
        generators: Sequence[torch.Generator] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Each output's ``(R, rows, units)`` values from each slot's batch (its non-zeros);
        ``generators``: one per slot, for dropout."""

        def operation_fn(operation):
            if isinstance(operation, keras.layers.Dropout):
                return self._dropout(float(operation.rate), training, generators)
            return self._dense_op(operation, batch)

        outputs = self.template._run_through_graph([torch.empty(0)], operation_fn=operation_fn)
        return dict(zip(self.template.output_names, keras.tree.flatten(outputs), strict=True))

    def _dense_op(self, layer: keras.layers.Dense, batch: Sequence[SparseRows]):
        kernel, bias = self.values[f"{layer.name}/kernel"], self.values[f"{layer.name}/bias"]
        activation = ACTIVATIONS[layer.activation.__name__]
        if layer.name in self.first:

            def first(_inputs, **_):
                with torch.autocast(bias.device.type, enabled=False):
                    parts = zip(kernel, batch, strict=True)
                    out = torch.stack([InputMatmul.apply(k, rows, self._input_gradient) for k, rows in parts])
                    return activation(out + bias.unsqueeze(1))

            return first
        if layer.name in self.heads:

            def head(x, **_):  # output heads compute in float32, as on the one-run path
                with torch.autocast(x.device.type, enabled=False):
                    return activation(torch.baddbmm(bias.unsqueeze(1), x.float(), kernel))

            return head

        def dense(x, **_):
            return activation(torch.baddbmm(bias.unsqueeze(1), x, kernel))

        return dense

    def _input_gradient(self, kernel: torch.Tensor, gradient: torch.Tensor) -> None:
        if self.on_input_gradient is None:
            raise RuntimeError(
                "StackedNetwork.on_input_gradient is not set: nothing would train the input kernels"
            )
        self.on_input_gradient(kernel, gradient)

    @staticmethod
    def _dropout(rate: float, training: bool, generators):
        def dropout(x, **_):
            if not training or rate == 0:
                return x
            masks = torch.stack([dropout_mask(x.shape[1:], rate, x.device, g) for g in generators])
            return x * masks * (1.0 / (1.0 - rate))

        return dropout
