"""The interface every Keras backend of mtrl implements, with the behaviour most of them share.

A backend owns what differs between TensorFlow, JAX and PyTorch in a training job: the process
environment set before Keras is imported, fork safety (for the warm worker), seeding, the device,
the precision ``auto`` resolves to, the model that ``fit`` trains (a faster view of the saved
model on PyTorch and on JAX accelerators), the form of ``fit``'s inputs, and the plan that
predicts from sparse rows. This module imports no framework at load time; methods import Keras
when they run (after :func:`mtrl.runtime.configure`).
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import keras

    from mtrl.calibration import NetworkShape
    from mtrl.data.prepared import PreparedData
    from mtrl.precision import PrecisionChoice
    from mtrl.run_inputs import RunInputs
    from mtrl.spec import RunSpec
    from mtrl.tasks import TaskSpec


class Backend:
    """A Keras backend: override what differs from these defaults (the TensorFlow-like behaviour)."""

    #: the name Keras knows the backend by (``KERAS_BACKEND``)
    name: ClassVar[str] = ""
    #: the Keras dtype policy of bfloat16 training, or None where the backend autocasts itself
    bfloat16_policy: ClassVar[str | None] = "mixed_bfloat16"

    # -- before Keras is imported ---------------------------------------------------------------

    def configure_environment(self) -> None:
        """Set the environment variables the framework reads at import (before ``import keras``)."""

    def initialised(self) -> bool:
        """Whether this process has set up the backend's devices: a fork would inherit a
        half-usable copy, so the warm worker must not fork then."""
        return False

    # -- in the training process ----------------------------------------------------------------

    def import_keras(self):
        """Import Keras, checking that it runs on this backend; keep TensorFlow unloaded.

        Keras probes for TensorFlow (importing it: 4-8 s) while seeding and saving models even on
        JAX or PyTorch; it needs it only for ``tf.data`` inputs, which mtrl never passes.
        """
        import keras

        if keras.backend.backend() != self.name:
            raise RuntimeError(
                f"Keras runs on backend {keras.backend.backend()!r}, expected {self.name!r}: "
                "call mtrl.runtime.configure() before anything imports keras"
            )
        from mtrl.backends.keras_internals import module_utils

        module_utils.tensorflow._available = False
        return keras

    def prepare_process(self) -> None:
        """Process-wide settings of a training job (called once, before the run)."""

    def seed(self, seed: int) -> None:
        """Seed Python, NumPy and Keras, like ``keras.utils.set_random_seed`` without its
        TensorFlow import (several seconds whenever TensorFlow is installed)."""
        import numpy as np

        from mtrl.backends.keras_internals import global_state, rng_utils, seed_generator

        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
        random.seed(seed)
        np.random.seed(seed)

    @functools.cached_property
    def device(self) -> str:
        """The kind of device the job computes on: ``cpu``, or e.g. ``cuda``/``gpu``."""
        return "cpu"

    def auto_precision(self, shape: NetworkShape | None = None) -> PrecisionChoice:
        """What precision ``auto`` means here, and why: float32 unless bfloat16 is measured faster.

        ``shape``: the network the study trains (a backend that measures, measures at it).
        """
        from mtrl.precision import FLOAT32, PrecisionChoice

        return PrecisionChoice(FLOAT32, f"the {self.name} backend trains in float32 unless told otherwise")

    def choose_precision(self, setting: str, shape: NetworkShape | None = None) -> PrecisionChoice:
        """The precision a run or study trains in: ``setting``, or :meth:`auto_precision` for ``auto``."""
        from mtrl.precision import AUTO, PrecisionChoice, check_precision

        if check_precision(setting) == AUTO:
            return self.auto_precision(shape)
        return PrecisionChoice(setting, f"set in the config (precision: {setting})")

    def precision(self, setting: str, shape: NetworkShape | None = None) -> str:
        """The precision a run trains in: ``setting``, or :meth:`auto_precision`'s for ``auto``."""
        return self.choose_precision(setting, shape).precision

    def hardware_note(self, precision: str) -> str | None:
        """Why this machine is a poor fit for ``precision`` (trained in all the same), or None."""
        return None

    def build_trainer(
        self,
        build_model: Callable[[], keras.Model],
        spec: RunSpec,
        tasks: list[TaskSpec],
        precision: str,
        device_rows: bool | None = None,
    ) -> tuple[keras.Model, keras.Model]:
        """``(model, trainer)``: the network ``build_model`` makes and the compiled model to ``fit``.

        ``model`` stays a plain functional model: save that one. ``trainer`` is ``model`` itself
        or a faster view of the same layers (:meth:`training_view`). In bfloat16 the layers are
        built under :attr:`bfloat16_policy`. A weighting whose loss weights change in training
        trains a view with the weights as variables (:mod:`mtrl.backends.loss_weighting`); a
        gradient method trains the backend's :meth:`gradient_view`.
        """
        from mtrl import weightings
        from mtrl.model import compile_model

        weighting = weightings.weighting_of(spec)
        if not weightings.supports_backend(spec.weighting, self.name):
            raise ValueError(
                f"weighting {spec.weighting!r} does not train on backend {self.name!r}; it trains "
                f"on: {', '.join(weighting.backends or ())}"
            )
        policy = self.bfloat16_policy if precision == "bfloat16" else None
        with _dtype_policy(policy):
            model = build_model()
        trainer = self.training_view(model, precision, self.uses_device_rows(device_rows))
        slugs = {task.name: task.slug for task in tasks}
        if weighting.uses_gradients:
            trainer = self.gradient_view(trainer, weighting, slugs)
        elif not weighting.constant:
            from mtrl.backends.loss_weighting import loss_weighted_view

            trainer = loss_weighted_view(trainer, model, weighting, slugs)
        optimizer = self.optimizer(spec.optimizer, spec.learning_rate)
        # constant: the weights of every epoch; else 1 each, scaled in training by the view
        loss_weights = weighting.loss_weights(0, {}) if weighting.constant else {}
        compile_model(trainer, tasks, optimizer, spec.learning_rate, loss_weights)
        return model, trainer

    def gradient_view(self, trainer: keras.Model, weighting: Any, slugs: dict[str, str]) -> keras.Model:
        """``trainer`` updating the shared weights by gradient method ``weighting`` (PyTorch only)."""
        raise ValueError(f"gradient method weightings do not train on backend {self.name!r}")

    def uses_device_rows(self, requested: bool | None = None) -> bool:
        """Whether runs keep their rows on the accelerator (``requested``: force on or off)."""
        if requested:
            raise ValueError(f"device_rows trains on JAX only, not on backend {self.name!r}")
        return False

    def training_view(self, model: keras.Model, precision: str, device_rows: bool) -> keras.Model:
        """The model ``fit`` trains: ``model`` itself, unless the backend has a faster view."""
        return model

    def optimizer(self, name: str, learning_rate: float) -> Any:
        """The optimizer to compile with: a Keras name (``learning_rate`` applied when compiled)
        or an instance."""
        return name

    def reads_sparse_batches(self, trainer: keras.Model) -> bool:
        """Whether ``trainer`` is fed each batch's non-zeros instead of a dense batch."""
        return False

    def fit_inputs(
        self, trainer: keras.Model, data: PreparedData, inputs: RunInputs, spec: RunSpec
    ) -> tuple[Any, Any]:
        """The training and validation data ``trainer.fit`` reads: mini-batches cut on the host."""
        from mtrl.backends.host_batches import keras_dataset
        from mtrl.data.batches import BatchSource, eval_batch_size

        features, val_rows = data.dataset.features, data.rows("val")
        sparse, transform = self.reads_sparse_batches(trainer), spec.feature_transform
        val_batch = eval_batch_size(len(val_rows))
        rows, targets = inputs.train_rows, inputs.train_targets
        train = BatchSource(features, rows, targets, spec.batch_size, transform, sparse)
        val = BatchSource(features, val_rows, inputs.val_targets, val_batch, transform, sparse)
        return keras_dataset(train, True, spec.training_seed), keras_dataset(val, False, spec.training_seed)

    def group_engine(self, spec: RunSpec) -> Callable[..., list[dict[str, Any]]] | None:
        """The function that trains a replicate group of runs like ``spec`` stacked in one training
        loop (:func:`mtrl.group.train_group`'s signature), or None: the runs one after the other."""
        return None

    def prediction_plan(self, model: keras.Model) -> Any:
        """The plan that predicts ``model``'s outputs from sparse rows, or None for dense chunks.

        By default :mod:`mtrl.backends.sparse_predict`: a SciPy first layer, the rest through Keras.
        """
        from mtrl.backends.sparse_predict import sparse_first_layer_plan

        return sparse_first_layer_plan(model)


@contextlib.contextmanager
def _dtype_policy(name: str | None) -> Iterator[None]:
    """Build layers under Keras dtype policy ``name`` (e.g. ``mixed_bfloat16``), then restore it."""
    if name is None:
        yield
        return
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
