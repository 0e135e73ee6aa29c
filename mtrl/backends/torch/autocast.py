"""A view of a functional model whose training step computes under ``torch.autocast``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import keras
import torch

from mtrl.backends.keras_internals import data_adapter_utils
from mtrl.backends.sparse_predict import input_dense_layers
from mtrl.backends.torch.layers import ACTIVATIONS, fast_operation, sparse_input_dense
from mtrl.backends.torch.lean import LeanCompiled
from mtrl.backends.torch.nan_safe import nan_step_error
from mtrl.backends.torch.sparse import SparseRows, is_sparse_batch


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
        first = input_dense_layers(self, ACTIVATIONS) or []
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
                    ops[key] = sparse_input_dense(operation)
                return lambda inputs, **_: ops[key](inputs, batch)
            if id(operation) not in ops:
                ops[id(operation)] = fast_operation(operation, training, id(operation) in self._heads)
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

        mtrl's lean losses give NaN for it (:func:`~mtrl.backends.torch.nan_safe.nan_safe_loss`);
        on Keras's own loss PyTorch's binary cross-entropy raises on NaN probabilities instead.
        """
        try:
            lean = self._lean() if isinstance(sample_weight, Mapping) else None
            if lean is not None:
                return lean.loss(y, y_pred, sample_weight)
            return self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        except RuntimeError as err:
            if "between 0 and 1" not in str(err):
                raise
            raise nan_step_error(self) from err

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


def autocast_view(model: keras.Model, autocast_dtype: str | None) -> AutocastModel:
    """An :class:`AutocastModel` over ``model``'s graph: same layers and weights, same named outputs.

    Train the view; save ``model`` (a plain functional model, loadable without mtrl).
    """
    outputs = dict(zip(model.output_names, model.outputs, strict=True))
    return AutocastModel(inputs=model.inputs, outputs=outputs, name=model.name, autocast_dtype=autocast_dtype)
