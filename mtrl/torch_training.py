"""The PyTorch-backend training path: bfloat16 autocast and a fused Adam update.

On the PyTorch backend a Keras model is a ``torch.nn.Module``, and Keras's own ``fit`` loop drives
the training; this module changes only the places where the time goes:

- :class:`AutocastModel` runs the forward pass and the loss of each training and validation step
  under ``torch.autocast`` (bfloat16 matrix products through oneDNN, float32 weights, float32
  heads), each Dense and Dropout layer as a bare PyTorch expression; prediction (the reported
  test and validation metrics) and the saved model stay float32.
- On a CPU the first layers (the Dense layers on the 5,000-word input) read each batch through
  its non-zeros (:class:`SparseInputMatmul`: a float32 gather-and-sum forward, one dense
  bfloat16 product for the kernel's gradient), with no cast of their large kernels.
- :class:`FusedAdam` is Keras's Adam with the update of all weights done by PyTorch's fused
  kernel (one pass over weights, gradients and moments) instead of a chain of multi-tensor ops.
- :class:`LeanCompiled` computes the compiled losses and metrics in a few PyTorch operations
  (same values, same metric variables) instead of Keras's generic per-step code.
- :class:`TorchSparsePlan`: float32 predictions from CSR rows through the same lean forward pass.

Import only with ``KERAS_BACKEND=torch``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping

import keras
import numpy as np
import torch
from keras.src.losses.loss import squeeze_or_expand_to_same_rank
from keras.src.losses.losses import LossFunctionWrapper
from keras.src.models import functional
from keras.src.trainers.data_adapters import data_adapter_utils

from mtrl.data.batches import SPARSE_KEYS
from mtrl.sparse_predict import input_dense_layers

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "linear": lambda x: x,
    "softmax": lambda x: torch.softmax(x, dim=-1),
}


def dropout_mask(shape: torch.Size, rate: float, device: torch.device) -> torch.Tensor:
    """A Bernoulli keep-mask (1 with probability ``1 - rate``), four times cheaper than torch's.

    PyTorch's dropout draws one 32-bit random number per element; here one 64-bit draw gives four
    16-bit numbers, so ``rate`` is applied at a resolution of 1/65536 (exact for 0.5).
    """
    n = int(torch.Size(shape).numel())
    words = torch.randint(-(2**63), 2**63 - 1, (-(-n // 4),), dtype=torch.int64, device=device)
    threshold = round(rate * 65536) - 32768
    return (words.view(torch.int16)[:n] >= threshold).view(shape)


class SparseRows:
    """A bag-of-words batch as its non-zeros (``embedding_bag`` layout), shared by every first layer.

    Built from a dense batch (:meth:`from_dense`) or from the data pipeline's non-zeros
    (:meth:`from_parts`, :func:`mtrl.data.batches.sparse_parts`: no dense batch at all).
    """

    def __init__(
        self,
        ids: torch.Tensor,
        offsets: torch.Tensor,
        values: torch.Tensor,
        n_cols: int,
        dense: torch.Tensor | None = None,
    ) -> None:
        self.ids, self.offsets, self.values = ids, offsets, values
        self.shape = (int(offsets.shape[0]), int(n_cols))
        self._dense: dict[torch.dtype, torch.Tensor] = {} if dense is None else {dense.dtype: dense}

    @classmethod
    def from_dense(cls, x: torch.Tensor) -> SparseRows:
        rows, ids = torch.nonzero(x, as_tuple=True)
        counts = torch.bincount(rows, minlength=x.shape[0])
        return cls(ids, torch.cumsum(counts, 0) - counts, x[rows, ids], x.shape[1], dense=x)

    @classmethod
    def from_parts(cls, parts: Mapping[str, torch.Tensor], n_cols: int) -> SparseRows:
        ids, offsets, values = (torch.as_tensor(parts[key]) for key in SPARSE_KEYS)
        return cls(ids, offsets, values, n_cols)

    def dense_as(self, dtype: torch.dtype) -> torch.Tensor:
        """The dense batch in ``dtype`` (built once: every tower's weight gradient uses it)."""
        if dtype not in self._dense:
            if self._dense:
                self._dense[dtype] = next(iter(self._dense.values())).to(dtype)
            else:
                counts = torch.diff(self.offsets, append=self.offsets.new_tensor([len(self.ids)]))
                rows = torch.repeat_interleave(torch.arange(self.shape[0], device=counts.device), counts)
                dense = torch.zeros(self.shape, dtype=dtype, device=self.values.device)
                dense.index_put_((rows, self.ids), self.values.to(dtype), accumulate=True)
                self._dense[dtype] = dense
        return self._dense[dtype]


def is_sparse_batch(x: object) -> bool:
    """Whether ``x`` is a batch's non-zeros as the data pipeline yields them."""
    return isinstance(x, Mapping) and set(x) == set(SPARSE_KEYS)


class SparseInputMatmul(torch.autograd.Function):
    """``x @ kernel`` over a bag-of-words batch: forward from its non-zeros, in float32.

    The forward pass gathers and sums the ~100 kernel rows of each row's words (``embedding_bag``;
    0.3 ms against 1.6 ms for the dense bfloat16 product of a 128 x 5,000 batch, plus no cast of the
    kernel); the kernel's gradient ``x^T @ dy`` is one dense product in ``grad_dtype`` (bfloat16
    under autocast: the product accumulates in float32 inside oneDNN, is rounded to bfloat16 and
    returned as float32). The batch itself needs no gradient.
    """

    @staticmethod
    def forward(ctx, kernel: torch.Tensor, batch: SparseRows, grad_dtype: torch.dtype) -> torch.Tensor:
        ctx.batch, ctx.grad_dtype = batch, grad_dtype
        return torch.nn.functional.embedding_bag(
            batch.ids, kernel, batch.offsets, mode="sum", per_sample_weights=batch.values
        )

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x = ctx.batch.dense_as(ctx.grad_dtype)
        kernel_grad = torch.matmul(x.T, grad.to(ctx.grad_dtype))
        return kernel_grad.to(torch.float32), None, None


def _sparse_input_dense(layer: keras.layers.Dense, autocast_dtype: str | None):
    """A first Dense layer over the model's input, computed from the batch's non-zeros."""
    kernel, bias = layer.kernel, layer.bias
    activation = _ACTIVATIONS[layer.activation.__name__]
    grad_dtype = getattr(torch, autocast_dtype or "float32")

    def dense(x: torch.Tensor, batch: SparseRows) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            out = SparseInputMatmul.apply(kernel.value, batch, grad_dtype)
            if bias is not None:
                out = out + bias.value
        return activation(out)

    return dense


def _fast_operation(operation, training: bool, float32_head: bool):
    """A lean PyTorch callable for a Dense or Dropout layer; other operations run through Keras.

    A ``float32_head`` Dense layer computes in float32 even under autocast (an output head).
    """
    if isinstance(operation, keras.layers.Dense) and not operation.lora_enabled:
        activation = _ACTIVATIONS.get(getattr(operation.activation, "__name__", ""))
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
    if isinstance(operation, keras.layers.Dropout) and operation.noise_shape is None:
        rate = float(operation.rate)

        def dropout(x: torch.Tensor, **_: object) -> torch.Tensor:
            if not training or rate == 0:
                return x
            return x * dropout_mask(x.shape, rate, x.device) * (1.0 / (1.0 - rate))

        return dropout
    return functional.operation_fn(operation, training=training)


_LEAN_LOSSES = ("binary_crossentropy", "mean_squared_error", "sparse_categorical_crossentropy")
_LEAN_METRICS = (
    keras.metrics.BinaryAccuracy,
    keras.metrics.SparseCategoricalAccuracy,
    keras.metrics.RootMeanSquaredError,
)


def _divide_no_nan(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.where(y == 0, 0, torch.divide(x, y))


class LeanCompiled:
    """A compiled model's losses, loss trackers and metrics as a few PyTorch operations a step.

    Keras's ``compute_loss``/``compute_metrics``/``get_metrics_result`` spend ~1.5 ms of Python a
    step on this study's three heads (an eighth of a ``low`` step). For the losses and metrics
    ``mtrl.model.compile_model`` uses (one loss per named output: binary/sparse categorical
    cross-entropy or MSE, sum over the batch size; weighted accuracy or RMSE), this computes the
    same quantities with Keras's own per-sample loss functions and the same reductions, updating
    the same metric variables, so histories are identical (tested). :meth:`of` returns None for
    anything else, and the model uses Keras's code.
    """

    def __init__(self, model: keras.Model) -> None:
        loss = model._compile_loss
        self.losses = [
            (path[0], wrapper.fn, wrapper._fn_kwargs, weight, tracker)
            for (path, wrapper, weight, _), tracker in zip(
                loss._flat_losses, loss.metrics or [None] * len(loss._flat_losses), strict=True
            )
        ]
        compiled = model._compile_metrics
        self.flatten = compiled._flatten_y
        self.metrics = [list(mls.metrics) if mls else [] for mls in compiled._flat_weighted_metrics]
        # (log name, metric, square root?) in the order of Keras's get_metrics_result()
        names = list(keras.Model.get_metrics_result(model))
        metrics = [model._loss_tracker] + [m for ms in self.metrics for m in ms] + list(loss.metrics)
        self.results = [
            (name, m, isinstance(m, keras.metrics.RootMeanSquaredError))
            for name, m in zip(names, metrics, strict=True)
        ]

    @classmethod
    def of(cls, model: keras.Model) -> LeanCompiled | None:
        loss, compiled = model._compile_loss, model._compile_metrics
        if loss is None or compiled is None or not loss.built or not compiled.built:
            return None
        if model.losses or model._metrics or any(compiled._flat_metrics):
            return None  # regularisation losses, custom or unweighted metrics: Keras's code
        for path, wrapper, _weight, _ in loss._flat_losses:
            if not (
                isinstance(wrapper, LossFunctionWrapper)
                and getattr(wrapper.fn, "__name__", "") in _LEAN_LOSSES
                and wrapper.reduction == "sum_over_batch_size"
                and len(path) == 1
                and not wrapper._fn_kwargs.get("label_smoothing")
                and wrapper._fn_kwargs.get("ignore_class") is None
                and not wrapper._fn_kwargs.get("from_logits")
            ):
                return None
        for mls in compiled._flat_weighted_metrics:
            for m in mls.metrics if mls else []:
                if type(m) not in _LEAN_METRICS or getattr(m, "_fn_kwargs", {}).get("threshold", 0.5) != 0.5:
                    return None
        if len(compiled._flat_weighted_metrics) != len(loss._flat_losses):
            return None
        widths = {
            name: tensor.shape[-1] for name, tensor in zip(model.output_names, model.outputs, strict=True)
        }
        for (path, wrapper, _weight, _), mls in zip(
            loss._flat_losses, compiled._flat_weighted_metrics, strict=True
        ):
            one_column = widths.get(path[0]) == 1
            if wrapper.fn.__name__ != "sparse_categorical_crossentropy" and not one_column:
                return None  # per-sample values of wider heads are averaged over columns by Keras
            if (
                mls
                and not one_column
                and any(not isinstance(m, keras.metrics.SparseCategoricalAccuracy) for m in mls.metrics)
            ):
                return None
        try:
            return cls(model)
        except (ValueError, AttributeError):
            return None

    def loss(self, y, y_pred, sample_weight) -> torch.Tensor:
        """The weighted total loss; updates each output's loss tracker like Keras's CompileLoss."""
        total = 0
        for name, fn, kwargs, weight, tracker in self.losses:
            y_t, y_p = squeeze_or_expand_to_same_rank(y[name].to(y_pred[name].dtype), y_pred[name])
            per_sample = fn(y_t, y_p, **kwargs)
            w = sample_weight[name].to(per_sample.dtype) if sample_weight is not None else None
            values = per_sample if w is None else per_sample * w.reshape(per_sample.shape)
            value = _divide_no_nan(torch.sum(values), torch.tensor(float(values.numel())))
            if tracker is not None:
                n = y_p.shape[0]
                with torch.no_grad():  # metric state stays out of the autograd graph
                    tracker.total.value.add_(value * n)
                    tracker.count.value.add_(float(n))
            total = total + (value * weight if weight is not None else value)
        return total

    def update_metrics(self, y, y_pred, sample_weight) -> None:
        """Update the weighted metrics like Keras's CompileMetrics (Mean over label-masked rows)."""
        with torch.no_grad():  # metric state stays out of the autograd graph
            self._update_metrics(y, y_pred, sample_weight)

    def _update_metrics(self, y, y_pred, sample_weight) -> None:
        weights = self.flatten(sample_weight)
        for metrics, y_t, y_p, w in zip(
            self.metrics, self.flatten(y), self.flatten(y_pred), weights, strict=True
        ):
            w = w.to(torch.float32)
            for m in metrics:
                if isinstance(m, keras.metrics.SparseCategoricalAccuracy):
                    values = (y_t.reshape(-1) == torch.argmax(y_p, dim=-1).to(y_t.dtype)).float()
                elif isinstance(m, keras.metrics.BinaryAccuracy):  # one-column heads (see of())
                    y_t = y_t.reshape(y_p.shape)
                    values = (y_t == (y_p > 0.5).to(y_t.dtype)).float().reshape(-1)
                else:  # RootMeanSquaredError: a Mean of squared errors, one-column heads
                    values = torch.square(y_p - y_t.reshape(y_p.shape).to(y_p.dtype)).reshape(-1)
                m.total.value.add_(torch.sum(values * w))
                m.count.value.add_(torch.sum(w))

    def result(self) -> dict[str, torch.Tensor]:
        """``get_metrics_result()``: every tracker's and metric's current value."""
        out = {}
        for name, m, root in self.results:
            value = _divide_no_nan(m.total.value, m.count.value)
            out[name] = torch.sqrt(value) if root else value
        return out


class AutocastModel(keras.Model):
    """A functional model whose training step computes in ``autocast_dtype`` (e.g. bfloat16).

    Build it over an existing functional model's graph, sharing its layers and weights::

        fast = autocast_view(model, "bfloat16")  # AutocastModel(inputs=..., outputs={name: tensor})
    """

    def __init__(self, *args, autocast_dtype: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.autocast_dtype = autocast_dtype
        self._fast_ops = {}
        # output heads (the layers named after the outputs) stay float32 under autocast
        self._heads = {id(self.get_layer(name)) for name in self.output_names}
        # the Dense layers on the input, where every reader of the input is one (else none)
        first = input_dense_layers(self, _ACTIVATIONS) or []
        self._first_dense = {id(layer): layer for layer in first}
        self._lean_compiled: LeanCompiled | bool | None = False  # False: not looked at yet
        self._n_inputs = int(self.inputs[0].shape[-1]) if len(self.inputs) == 1 else None
        self.reads_sparse_batches = bool(first)  # fed each batch's non-zeros (on a CPU)

    def fast_call(self, x: torch.Tensor | SparseRows, training: bool) -> dict[str, torch.Tensor]:
        """The forward pass with each Dense/Dropout layer as a bare PyTorch expression.

        Same layers, weights and graph as ``self(x, training=...)``, without the per-call work of
        Keras's ``Layer.__call__`` (a training step spends more time there than in the maths).
        ``x``: a dense batch, or its non-zeros (:class:`SparseRows`, see ``reads_sparse_batches``);
        on a CPU the first layers read a dense batch through its non-zeros too.
        """
        ops = self._fast_ops.setdefault(training, {})
        if isinstance(x, SparseRows):
            batch, x = x, torch.empty(0)  # no layer reads the dense input
        elif self._first_dense and x.device.type == "cpu" and x.ndim == 2:
            batch = SparseRows.from_dense(x)
        else:
            batch = None

        def lean(operation):
            if batch is not None and id(operation) in self._first_dense:
                key = ("sparse", id(operation))
                if key not in ops:
                    # a head on the input keeps a float32 gradient (heads stay float32)
                    dtype = None if id(operation) in self._heads else self.autocast_dtype
                    ops[key] = _sparse_input_dense(operation, dtype)
                return lambda inputs, **_: ops[key](inputs, batch)
            if id(operation) not in ops:
                ops[id(operation)] = _fast_operation(operation, training, id(operation) in self._heads)
            return ops[id(operation)]

        outputs = self._run_through_graph([x], operation_fn=lean)
        return dict(zip(self.output_names, keras.tree.flatten(outputs), strict=True))

    def _step_batch(self, x) -> tuple[torch.Tensor | SparseRows, int, str]:
        """(the batch for :meth:`fast_call`, its number of rows, its device type)."""
        if is_sparse_batch(x):
            if not self.reads_sparse_batches:
                raise ValueError(f"{self.name} cannot read sparse batches (see reads_sparse_batches)")
            rows = SparseRows.from_parts(x, self._n_inputs)
            return rows, rows.shape[0], rows.values.device.type
        return x, x.shape[0], x.device.type

    def get_weights(self) -> list[torch.Tensor]:
        """The weights' values as detached PyTorch copies, in ``weights`` order.

        ``EarlyStopping(restore_best_weights=True)`` takes one at every improvement and hands it
        back to :meth:`set_weights`; Keras's NumPy copies of the 17 M weights of the ``high``
        model cost ~36 ms each, these ~5 ms.
        """
        with torch.no_grad():
            return [variable.value.detach().clone() for variable in self.weights]

    def _symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds the metrics from a first batch: give it a dense stand-in of a sparse one."""
        unbuilt = not all(layer.built for layer in self._flatten_layers()) or any(
            part is not None and not part.built for part in (self._compile_metrics, self._compile_loss)
        )
        if not unbuilt:
            return super()._symbolic_build(iterator=iterator, data_batch=data_batch)
        if iterator is not None and data_batch is None:
            for _, _, data in iterator:
                data_batch = data[0] if isinstance(data, (list, tuple)) else next(data)
                break
        if data_batch is not None:
            x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data_batch)
            if is_sparse_batch(x):
                n_rows = len(x["word_offsets"])
                x = torch.zeros(n_rows, self._n_inputs)
                data_batch = (x, y) if sample_weight is None else (x, y, sample_weight)
        return super()._symbolic_build(data_batch=data_batch)

    def _autocast(self, device_type: str) -> torch.autocast:
        return torch.autocast(
            device_type,
            dtype=getattr(torch, self.autocast_dtype or "float32"),
            enabled=self.autocast_dtype is not None,
        )

    def compile(self, *args, **kwargs) -> None:
        super().compile(*args, **kwargs)
        self._lean_compiled = False

    def _lean(self) -> LeanCompiled | None:
        """The lean losses and metrics, once Keras has built its own (at the first step)."""
        if self._lean_compiled is False:
            loss, metrics = self._compile_loss, self._compile_metrics
            if loss is None or not loss.built or (metrics is not None and not metrics.built):
                return None  # Keras's symbolic build calls these before building its metrics
            self._lean_compiled = LeanCompiled.of(self)
        return self._lean_compiled

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        # mtrl's batches weight every output (a dict); anything else goes through Keras
        lean = self._lean() if isinstance(sample_weight, Mapping) else None
        if lean is None:
            return super().compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        lean.update_metrics(y, y_pred, sample_weight)
        return lean.result()

    def get_metrics_result(self):
        lean = self._lean() if self.compiled else None
        return super().get_metrics_result() if lean is None else lean.result()

    def _loss(self, x, y, y_pred, sample_weight, training: bool):
        """Keras's loss; a NaN output (weights gone non-finite) is a :class:`NonFiniteLossError`.

        PyTorch's binary cross-entropy raises on NaN probabilities instead of returning NaN.
        """
        try:
            lean = self._lean() if isinstance(sample_weight, Mapping) else None
            if lean is not None:
                return lean.loss(y, y_pred, sample_weight)
            return self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        except RuntimeError as err:
            if "between 0 and 1" not in str(err):
                raise
            from mtrl.train import NonFiniteLossError

            epoch = getattr(self, "current_epoch", None)
            where = f"at epoch {epoch + 1}" if epoch is not None else "in training"
            raise NonFiniteLossError(
                f"loss became nan {where} (the weights are no longer finite); lower "
                "training.learning_rate or check the labels for extreme values"
            ) from err

    def test_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        x, n_rows, device_type = self._step_batch(x)
        with torch.no_grad():
            with self._autocast(device_type):
                y_pred = self.fast_call(x, training=False)
            # the heads are float32: the loss needs no autocast (CUDA refuses BCE under it)
            loss = self._loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=n_rows)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def train_step(self, data):
        x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
        x, n_rows, device_type = self._step_batch(x)
        with self._autocast(device_type):
            y_pred = self.fast_call(x, training=True)
        # the heads are float32: the loss needs no autocast (CUDA refuses BCE under it)
        loss = self._loss(x, y, y_pred, sample_weight, training=True)
        variables = self.trainable_weights
        for variable in variables:  # Module.zero_grad walks every sub-module: ~4 ms a step
            variable.value.grad = None
        self._loss_tracker.update_state(loss, sample_weight=n_rows)
        loss = self.optimizer.scale_loss(loss)
        if not variables:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
            return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        loss.backward()
        with torch.no_grad():
            self.optimizer.apply([v.value.grad for v in variables], variables)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)


class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam whose weight update is PyTorch's fused Adam kernel.

    Same hyper-parameters, state (Keras variables) and arithmetic as ``keras.optimizers.Adam``:
    Keras adds epsilon to ``sqrt(v)``, PyTorch to ``sqrt(v_hat)``, so epsilon is passed rescaled by
    ``1 / sqrt(1 - beta_2^t)``. Gradient clipping, weight decay and EMA stay Keras's (its base
    class applies them around this update); ``amsgrad`` is not implemented.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam does not implement amsgrad; use keras.optimizers.Adam")

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        with torch.no_grad():
            params = [v.value for v in trainable_variables]
            moments = [self._momentums[self._get_variable_index(v)].value for v in trainable_variables]
            velocities = [self._velocities[self._get_variable_index(v)].value for v in trainable_variables]
            device = params[0].device
            t = int(self.iterations.value) + 1
            step = torch.tensor(float(t), device=device)
            lr_tensor = getattr(learning_rate, "value", learning_rate)  # a Keras variable or a tensor
            lr = float(lr_tensor) if device.type == "cpu" else lr_tensor
            beta_2 = float(self.beta_2)
            torch._fused_adam_(
                params,
                list(grads),
                moments,
                velocities,
                [],
                [step] * len(params),
                lr=lr,
                beta1=float(self.beta_1),
                beta2=beta_2,
                weight_decay=0.0,
                eps=float(self.epsilon) / math.sqrt(1.0 - beta_2**t),
                amsgrad=False,
                maximize=False,
            )


class TorchSparsePlan:
    """Float32 predictions of a trained network from CSR rows, on PyTorch (CPU).

    The whole network runs through :meth:`AutocastModel.fast_call` without autocast: the first
    layers gather the rows' words (``embedding_bag``: ~4 ms for 900 rows against ~11 ms for SciPy's
    sparse product and 86 ms dense), the rest as bare PyTorch products, with no Keras call overhead.
    """

    def __init__(self, view: AutocastModel, rescale: dict[str, tuple[float, float]]) -> None:
        self.view, self.rescale = view, rescale

    @classmethod
    def of(cls, model: keras.Model) -> TorchSparsePlan | None:
        """The plan for ``model`` (bare, or wrapped by :func:`mtrl.model.with_original_units`),
        or None where its first layers cannot read sparse rows."""
        from mtrl.sparse_predict import unwrap_units

        inner, rescale = unwrap_units(model)
        if inner is None or len(inner.inputs) != 1:
            return None
        view = autocast_view(inner, None)
        return cls(view, rescale) if view.reads_sparse_batches else None

    def predict(self, block, n_rows: int | None = None) -> dict[str, np.ndarray]:
        """Outputs (float64, original units) for the transformed CSR rows ``block``."""
        from mtrl.data.batches import sparse_parts
        from mtrl.sparse_predict import rescaled

        parts = {key: torch.from_numpy(value) for key, value in sparse_parts(block).items()}
        with torch.no_grad():
            out = self.view.fast_call(SparseRows.from_parts(parts, self.view._n_inputs), training=False)
        return rescaled({k: v.numpy() for k, v in out.items()}, self.rescale, block.shape[0])


def autocast_view(model: keras.Model, autocast_dtype: str | None) -> AutocastModel:
    """An :class:`AutocastModel` over ``model``'s graph: same layers and weights, same named outputs.

    Train the view; save ``model`` (a plain functional model, loadable without mtrl).
    """
    outputs = dict(zip(model.output_names, model.outputs, strict=True))
    return AutocastModel(inputs=model.inputs, outputs=outputs, name=model.name, autocast_dtype=autocast_dtype)


def fast_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer | None:
    """The fused replacement of optimizer ``name``, or None where there is none (use Keras's)."""
    if name == "adam":
        return FusedAdam(learning_rate=learning_rate)
    return None
