"""The (multi-task) network: Keras 3 functional API, backend-agnostic.

An input named ``words``, the hidden layers of a sharing strategy
(:class:`mtrl.architectures.base.Architecture`, e.g. hard sharing by a mask) and one head per
task on its tower: sigmoid (binary), softmax (multiclass) or linear (regression), named after the
task slug.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import keras
from keras import layers

from mtrl.architectures.base import Architecture
from mtrl.tasks import TaskSpec

HEAD_ACTIVATION = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}
HEAD_LOSS = {
    "binary": "binary_crossentropy",
    "multiclass": "sparse_categorical_crossentropy",
    "regression": "mean_squared_error",
}


def build_model(
    input_dim: int, tasks: Sequence[TaskSpec], architecture: Architecture, name: str = "mtl"
) -> keras.Model:
    """Build the network: ``architecture``'s towers and a head per task. One task gives the baseline."""
    if not tasks:
        raise ValueError("a model needs at least one task")
    inputs = keras.Input(shape=(input_dim,), name="words")
    towers = architecture.towers(inputs, tasks)
    outputs = {
        task.slug: layers.Dense(
            task.n_outputs, activation=HEAD_ACTIVATION[task.kind], name=task.slug, dtype="float32"
        )(towers[task.slug])
        for task in tasks
    }
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def paired_initial_weights(model: keras.Model, seed: int, target_slug: str) -> None:
    """Re-draw the kernel of every ``Dense`` layer of ``model`` from ``seed``, the tower it serves
    and its shape, not from the order the layers were built in (``replicates.paired_init``).

    A shared layer (``shared_<depth>``) and a single-task network's ``hidden_<depth>`` serve the
    target's tower (``<target_slug>_<depth>``), so the target's tower starts from the same weights in
    a multi-task run as in its single-task partner of the same seed: common random numbers, which
    take the initial weights' variance out of the paired gain while each run's weights keep their
    distribution (the layer's own initializer, e.g. Glorot uniform). Biases start at zero anyway.
    """
    for layer in model.layers:
        if not isinstance(layer, layers.Dense):
            continue
        role = _tower_role(layer.name, target_slug)
        shape = tuple(int(d) for d in layer.kernel.shape)
        layer_seed = zlib.crc32(f"{seed}/{role}/{shape}".encode()) & 0x7FFFFFFF
        config = {**layer.kernel_initializer.get_config(), "seed": layer_seed}
        initializer = type(layer.kernel_initializer).from_config(config)
        layer.kernel.assign(initializer(shape, dtype=layer.kernel.dtype))


def _tower_role(name: str, target_slug: str) -> str:
    """The tower a hidden layer serves: ``shared_3`` and ``hidden_3`` serve the target's."""
    for prefix in ("shared_", "hidden_"):
        if name.startswith(prefix) and name.removeprefix(prefix).isdigit():
            return f"{target_slug}_{name.removeprefix(prefix)}"
    return name


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


def count_parameters(input_dim: int, tasks: Sequence[TaskSpec], architecture: Architecture) -> int:
    """Closed-form number of trainable parameters of :func:`build_model`'s network, heads included."""
    head_inputs = architecture.output_dim(input_dim) + 1
    return architecture.parameter_count(input_dim, tasks) + sum(head_inputs * t.n_outputs for t in tasks)


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
