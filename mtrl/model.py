"""The multi-task MLP: Keras 3 functional API, backend-agnostic.

A hidden layer is either shared (ONE ``Dense`` object that every task tower calls) or private
(one ``Dense`` per task). Shared layers that see the same input tensor (e.g. layers 1-2 of the
``low`` preset) are computed once; a shared layer after private ones (e.g. layer 4 of
``interspersed``) applies the same weights to each tower's activations. Each task ends in its own
head: sigmoid (binary), softmax (multiclass) or linear (regression), named after the task slug.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
from keras import layers

from mtrl.tasks import TaskSpec

HEAD_ACTIVATION = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}
HEAD_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "sparse_categorical_crossentropy",
    "regression": "mean_squared_error",
}


def build_model(
    input_dim: int,
    tasks: Sequence[TaskSpec],
    widths: Sequence[int],
    sharing_mask: Sequence[bool],
    dropout: Sequence[float],
    activation: str = "relu",
    name: str = "mtl",
) -> keras.Model:
    """Build the (multi-task) network. One task gives the single-task baseline."""
    if len(sharing_mask) != len(widths) or len(dropout) != len(widths):
        raise ValueError(
            f"widths {list(widths)}, sharing mask {list(sharing_mask)} and dropout "
            f"{list(dropout)} must have one entry per hidden layer"
        )
    if not tasks:
        raise ValueError("a model needs at least one task")
    inputs = keras.Input(shape=(input_dim,), name="words")
    towers = {task.slug: inputs for task in tasks}
    for depth, (width, shared, rate) in enumerate(zip(widths, sharing_mask, dropout, strict=False), start=1):
        if shared and len(tasks) > 1:
            dense = layers.Dense(width, activation=activation, name=f"shared_{depth}")
            drop = layers.Dropout(rate, name=f"shared_{depth}_dropout") if rate > 0 else None
            computed: dict[int, object] = {}
            for slug, h in towers.items():
                if id(h) not in computed:
                    out = dense(h)
                    computed[id(h)] = drop(out) if drop is not None else out
                towers[slug] = computed[id(h)]
        else:
            for slug, h in towers.items():
                prefix = slug if len(tasks) > 1 else "hidden"
                h = layers.Dense(width, activation=activation, name=f"{prefix}_{depth}")(h)
                if rate > 0:
                    h = layers.Dropout(rate, name=f"{prefix}_{depth}_dropout")(h)
                towers[slug] = h
    outputs = {
        task.slug: layers.Dense(
            task.n_outputs, activation=HEAD_ACTIVATION[task.kind], name=task.slug, dtype="float32"
        )(towers[task.slug])
        for task in tasks
    }
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def compile_model(
    model: keras.Model,
    tasks: Sequence[TaskSpec],
    optimizer: str | keras.optimizers.Optimizer,
    learning_rate: float,
    loss_weights: Mapping[str, float] | None = None,
) -> None:
    """Compile with one loss per named output (dict losses) and the optimizer (a name or an instance).

    ``learning_rate`` applies to an optimizer given by name.
    """
    weights = dict(loss_weights or {})
    if isinstance(optimizer, str):
        optimizer = keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}
        )
    model.compile(
        optimizer=optimizer,
        loss={t.slug: HEAD_LOSS[t.kind] for t in tasks},
        loss_weights={t.slug: float(weights.get(t.name, 1.0)) for t in tasks},
        weighted_metrics={t.slug: [_head_metric(t)] for t in tasks},
    )


def _head_metric(task: TaskSpec) -> keras.metrics.Metric:
    """Per-epoch metric of a head (weighted by the label mask): accuracy, or RMSE in standard units."""
    if task.kind == "binary":
        return keras.metrics.BinaryAccuracy(name="accuracy")
    if task.kind == "multiclass":
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    return keras.metrics.RootMeanSquaredError(name="rmse")


def count_parameters(
    input_dim: int, tasks: Sequence[TaskSpec], widths: Sequence[int], sharing_mask: Sequence[bool]
) -> int:
    """Closed-form number of trainable parameters of :func:`build_model`'s network."""
    n_tasks = len(tasks)
    total, fan_in = 0, input_dim
    for width, shared in zip(widths, sharing_mask, strict=False):
        copies = 1 if shared or n_tasks == 1 else n_tasks
        total += copies * (fan_in + 1) * width
        fan_in = width
    return total + sum((fan_in + 1) * t.n_outputs for t in tasks)


def with_original_units(
    model: keras.Model, tasks: Sequence[TaskSpec], scaling: Mapping[str, tuple[float, float]]
) -> keras.Model:
    """The model to save: regression heads mapped back to original units (``y * sd + mean``).

    ``scaling`` maps a regression task's name to the (mean, sd) its targets were standardised
    with on the training split. The trained network is nested unchanged; each output passes
    through a last layer named after its task, so ``output_names`` are the task slugs.
    """
    inputs = keras.Input(shape=model.input_shape[1:], name="words")
    raw = model(inputs)
    outputs = {}
    for task in tasks:
        out = raw[task.slug]
        if task.name in scaling:
            mean, sd = scaling[task.name]
            out = layers.Rescaling(scale=sd, offset=mean, name=task.slug)(out)
        else:
            out = layers.Identity(name=task.slug)(out)
        outputs[task.slug] = out
    return keras.Model(inputs=inputs, outputs=outputs, name=f"{model.name}_units")
