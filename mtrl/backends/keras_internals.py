"""Every private Keras module mtrl relies on, imported in this one place.

Keras keeps these under ``keras.src`` (not its public API), so a Keras release may move them.
mtrl is tested with :data:`TESTED_KERAS`; on another version an import that fails here says so at
once, naming the symbol, instead of failing deep inside a training step.
Import only after :func:`mtrl.runtime.configure` (importing Keras picks its backend).
"""

from __future__ import annotations

import keras

TESTED_KERAS = "3.15.1"

try:
    from keras.src.backend.common import global_state
    from keras.src.losses.loss import squeeze_or_expand_to_same_rank
    from keras.src.losses.losses import LossFunctionWrapper
    from keras.src.models import functional
    from keras.src.random import seed_generator
    from keras.src.trainers.data_adapters import data_adapter_utils
    from keras.src.utils import module_utils, rng_utils
except ImportError as err:  # pragma: no cover - depends on the installed Keras
    raise ImportError(
        f"mtrl relies on Keras internals ({err.name or err}) that Keras {keras.__version__} no "
        f"longer has where Keras {TESTED_KERAS} had them; install keras=={TESTED_KERAS} (the "
        "version pyproject.toml pins) or update mtrl/backends/keras_internals.py"
    ) from err

#: The internals and what mtrl uses them for (tests check each is still there and callable).
USES = {
    "global_state": "seeding without importing TensorFlow (mtrl.backends.base)",
    "seed_generator": "resetting Keras's global seed generator",
    "rng_utils": "the global random seed's key",
    "module_utils": "keeping TensorFlow unimported on other backends",
    "squeeze_or_expand_to_same_rank": "the PyTorch path's lean losses",
    "LossFunctionWrapper": "recognising Keras's built-in losses",
    "functional": "running a functional model's operations one by one",
    "data_adapter_utils": "unpacking (x, y, sample_weight) batches",
}

__all__ = [
    "TESTED_KERAS",
    "USES",
    "LossFunctionWrapper",
    "data_adapter_utils",
    "functional",
    "global_state",
    "module_utils",
    "rng_utils",
    "seed_generator",
    "squeeze_or_expand_to_same_rank",
]
