"""R replicates of one Keras functional network, their weights stacked along a leading axis.

Every ``Dense`` layer's kernel becomes one ``(R, in, out)`` tensor and its bias one ``(R, out)``;
activations flow as ``(R, batch, width)`` and each layer is one batched product (``baddbmm``) for
all replicates. A Dense layer on the input reads the batch's non-zeros (:class:`StackedRows`:
the R replicates' rows as one ``embedding_bag`` over the R kernels side by side), as the one-run
path does (:mod:`mtrl.backends.torch.sparse`). Dropout draws each replicate's masks from that
replicate's own generator. The graph is the Keras model's own (walked like
:meth:`~mtrl.backends.torch.autocast.AutocastModel.fast_call`), so any network of Dense and
Dropout layers (hard sharing, whatever its mask) stacks; anything else does not (:func:`stackable`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import torch

from mtrl.backends.sparse_predict import input_dense_layers
from mtrl.backends.torch.layers import ACTIVATIONS, dropout_mask


class StackedRows:
    """The batches of R replicates as one ``embedding_bag`` input over R kernels side by side.

    ``ids`` are word ids shifted by ``slot * n_cols`` (replicate ``slot``'s kernel rows in the
    ``(R * n_cols, out)`` view of the stacked kernel), ``offsets`` where each of the ``R * rows``
    bags starts, ``values`` the transformed counts.
    """

    def __init__(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        values: torch.Tensor,
        n_stack: int,
        n_rows: int,
        n_cols: int,
    ) -> None:
        self.ids, self.offsets, self.values = ids, offsets, values
        self.n_stack, self.n_rows, self.n_cols = n_stack, n_rows, n_cols
        self._dense: dict[torch.dtype, torch.Tensor] = {}

    def dense_as(self, dtype: torch.dtype) -> torch.Tensor:
        """The batches as a dense ``(R, rows, n_cols)`` tensor in ``dtype`` (built once)."""
        if dtype not in self._dense:
            n_bags = self.n_stack * self.n_rows
            counts = torch.diff(self.offsets, append=self.offsets.new_tensor([len(self.ids)]))
            bags = torch.repeat_interleave(torch.arange(n_bags, device=counts.device), counts)
            dense = torch.zeros(n_bags * self.n_cols, dtype=dtype, device=self.values.device)
            # bag b of slot s holds ids shifted by s * n_cols; its flat position: b * n_cols + word id
            slot = bags // self.n_rows
            flat = bags * self.n_cols + (self.ids - slot * self.n_cols)
            dense.index_put_((flat,), self.values.to(dtype), accumulate=True)
            self._dense[dtype] = dense.view(self.n_stack, self.n_rows, self.n_cols)
        return self._dense[dtype]


class StackedSparseMatmul(torch.autograd.Function):
    """``x_r @ kernel_r`` for every replicate r, forward from the non-zeros (one ``embedding_bag``),
    the kernels' gradient ``x_r^T @ dy_r`` as one batched product in ``grad_dtype``."""

    @staticmethod
    def forward(ctx, kernel: torch.Tensor, batch: StackedRows, grad_dtype: torch.dtype) -> torch.Tensor:
        ctx.batch, ctx.grad_dtype = batch, grad_dtype
        n_stack, n_cols, width = kernel.shape
        out = torch.nn.functional.embedding_bag(
            batch.ids,
            kernel.reshape(n_stack * n_cols, width),
            batch.offsets,
            mode="sum",
            per_sample_weights=batch.values,
        )
        return out.view(n_stack, batch.n_rows, width)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x = ctx.batch.dense_as(ctx.grad_dtype)
        kernel_grad = torch.bmm(x.transpose(1, 2), grad.to(ctx.grad_dtype))
        return kernel_grad.to(torch.float32), None, None


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

    ``template``: one replicate's Keras model (its graph and layer names); the stacked weights
    are filled replicate by replicate with :meth:`set_replicate` (e.g. from each replicate's own
    freshly initialised model) and read back with :meth:`replicate_weights`.
    """

    def __init__(self, template: keras.Model, n_stack: int, autocast_dtype: str | None) -> None:
        if not stackable(template):
            raise ValueError(f"network {template.name!r} has layers the stacked path cannot run")
        self.template = template
        self.autocast_dtype = autocast_dtype
        self.heads = set(template.output_names)
        self.first = {layer.name for layer in input_dense_layers(template, ACTIVATIONS) or []}
        self.dense = [layer for layer in template.operations if isinstance(layer, keras.layers.Dense)]
        self.params: dict[str, torch.Tensor] = {}
        for layer in self.dense:
            kernel, bias = layer.kernel.value, layer.bias.value
            self.params[f"{layer.name}/kernel"] = torch.zeros((n_stack, *kernel.shape), device=kernel.device)
            self.params[f"{layer.name}/bias"] = torch.zeros((n_stack, *bias.shape), device=bias.device)
        for tensor in self.params.values():
            tensor.requires_grad_(True)
        self.n_stack = n_stack

    @property
    def device(self) -> torch.device:
        return next(iter(self.params.values())).device

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def set_replicate(self, slot: int, model: keras.Model) -> None:
        """Copy the Dense weights of ``model`` (the template's architecture) into slot ``slot``."""
        with torch.no_grad():
            for layer in self.dense:
                source = model.get_layer(layer.name)
                self.params[f"{layer.name}/kernel"][slot].copy_(source.kernel.value)
                self.params[f"{layer.name}/bias"][slot].copy_(source.bias.value)

    def replicate_weights(self, slot: int) -> dict[str, torch.Tensor]:
        """Detached copies of slot ``slot``'s weights (a snapshot, e.g. the best epoch's)."""
        with torch.no_grad():
            return {name: tensor[slot].detach().clone() for name, tensor in self.params.items()}

    def load_into(self, model: keras.Model, weights: dict[str, torch.Tensor]) -> None:
        """Set ``model``'s Dense layers to ``weights`` (one replicate's, from :meth:`replicate_weights`)."""
        for layer in self.dense:
            target = model.get_layer(layer.name)
            target.kernel.assign(weights[f"{layer.name}/kernel"])
            target.bias.assign(weights[f"{layer.name}/bias"])

    def keep(self, slots: Sequence[int]) -> None:
        """Keep only ``slots`` (in that order): the stack of the replicates still training."""
        index = torch.as_tensor(list(slots), dtype=torch.long, device=self.device)
        with torch.no_grad():
            for name, tensor in self.params.items():
                self.params[name] = tensor.index_select(0, index).detach().requires_grad_(True)
        self.n_stack = len(slots)

    def __call__(
        self, batch: StackedRows, training: bool, generators: Sequence[torch.Generator] | None = None
    ) -> dict[str, torch.Tensor]:
        """Each output's ``(R, rows, units)`` values; ``generators``: one per slot, for dropout."""

        def operation_fn(operation):
            if isinstance(operation, keras.layers.Dropout):
                return self._dropout(float(operation.rate), training, generators)
            return self._dense_op(operation, batch)

        outputs = self.template._run_through_graph([torch.empty(0)], operation_fn=operation_fn)
        return dict(zip(self.template.output_names, keras.tree.flatten(outputs), strict=True))

    def _dense_op(self, layer: keras.layers.Dense, batch: StackedRows):
        kernel, bias = self.params[f"{layer.name}/kernel"], self.params[f"{layer.name}/bias"]
        activation = ACTIVATIONS[layer.activation.__name__]
        if layer.name in self.first:
            grad_dtype = getattr(torch, self.autocast_dtype or "float32")
            head = layer.name in self.heads

            def first(_inputs, **_):
                with torch.autocast(batch.values.device.type, enabled=False):
                    out = StackedSparseMatmul.apply(kernel, batch, torch.float32 if head else grad_dtype)
                    return activation(out + bias.unsqueeze(1))

            return first
        if layer.name in self.heads:

            def head(x, **_):  # output heads compute in float32, as on the one-run path
                with torch.autocast(x.device.type, enabled=False):
                    return activation(torch.baddbmm(bias.unsqueeze(1), x.float(), kernel))

            return head

        def dense(x, **_):
            with torch.autocast(
                x.device.type,
                dtype=getattr(torch, self.autocast_dtype or "float32"),
                enabled=self.autocast_dtype is not None,
            ):
                return activation(torch.baddbmm(bias.unsqueeze(1), x, kernel))

        return dense

    @staticmethod
    def _dropout(rate: float, training: bool, generators):
        def dropout(x, **_):
            if not training or rate == 0:
                return x
            masks = torch.stack([dropout_mask(x.shape[1:], rate, x.device, g) for g in generators])
            return x * masks * (1.0 / (1.0 - rate))

        return dropout
