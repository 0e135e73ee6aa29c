"""The TensorFlow backend: plain Keras ``fit`` on host batches, deterministic ops."""

from __future__ import annotations

from mtrl.backends.base import Backend


class TensorFlowBackend(Backend):
    """Keras on TensorFlow: the reference path (``mixed_bfloat16`` for bfloat16)."""

    name = "tensorflow"

    def import_keras(self):
        import keras

        if keras.backend.backend() != self.name:
            return super().import_keras()  # raises with the explanation
        return keras

    def seed(self, seed: int) -> None:
        import keras

        keras.utils.set_random_seed(seed)

    def prepare_process(self) -> None:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
