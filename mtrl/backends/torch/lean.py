"""Keras's compiled losses, loss trackers and metrics as a few PyTorch operations a step."""

from __future__ import annotations

import keras
import torch

from mtrl.backends.keras_internals import LossFunctionWrapper, squeeze_or_expand_to_same_rank
from mtrl.backends.torch.nan_safe import nan_safe_loss

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
        loss = self.compile_loss = model._compile_loss
        self.losses = [
            (path[0], wrapper.fn, wrapper._fn_kwargs, tracker)
            for (path, wrapper, _weight, _), tracker in zip(
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
        """The weighted total loss; updates each output's loss tracker like Keras's CompileLoss.

        The weights are read at each call from the compiled loss (fixed, or set in training by
        :func:`mtrl.backends.loss_weighting.scaled_losses`).
        """
        total = 0
        weights = [entry.loss_weights for entry in self.compile_loss._flat_losses]
        for value, weight in zip(self.task_losses(y, y_pred, sample_weight), weights, strict=True):
            total = total + (value * weight if weight is not None else value)
        return total

    def task_losses(self, y, y_pred, sample_weight) -> list[torch.Tensor]:
        """Each output's unweighted loss (in compile order); updates each output's loss tracker."""
        values = []
        for name, fn, kwargs, tracker in self.losses:
            y_t, y_p = squeeze_or_expand_to_same_rank(y[name].to(y_pred[name].dtype), y_pred[name])
            per_sample = nan_safe_loss(fn, y_t, y_p, **kwargs)
            w = sample_weight[name].to(per_sample.dtype) if sample_weight is not None else None
            weighted = per_sample if w is None else per_sample * w.reshape(per_sample.shape)
            value = _divide_no_nan(torch.sum(weighted), torch.tensor(float(weighted.numel())))
            if tracker is not None:
                n = y_p.shape[0]
                with torch.no_grad():  # metric state stays out of the autograd graph
                    tracker.total.value.add_(value * n)
                    tracker.count.value.add_(float(n))
            values.append(value)
        return values

    def output_names(self) -> list[str]:
        """The outputs of :meth:`task_losses`, in its order."""
        return [name for name, *_ in self.losses]

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
