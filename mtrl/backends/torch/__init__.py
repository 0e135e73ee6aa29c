"""The PyTorch backend (mtrl's default): bfloat16 autocast, sparse first layers, fused Adam.

The fast training path itself is in the modules beside this one (:mod:`.autocast`,
:mod:`.layers`, :mod:`.sparse`, :mod:`.lean`, :mod:`.adam`, :mod:`.predict`); they import
PyTorch and Keras, this module does not until a method runs.
"""

from __future__ import annotations

import functools
import logging
import sys

from mtrl.backends.base import Backend


class TorchBackend(Backend):
    """Keras on PyTorch, with :mod:`mtrl.backends.torch.autocast`'s training view."""

    name = "torch"
    bfloat16_policy = None  # the training view autocasts; the layers stay float32

    def initialised(self) -> bool:
        """Whether PyTorch has set up CUDA (reads only modules imported already)."""
        cuda = sys.modules.get("torch.cuda")
        return cuda is not None and bool(cuda.is_initialized())

    def prepare_process(self) -> None:
        from mtrl.runtime import keep_freed_memory

        keep_freed_memory()  # this job's process only (a warm worker's child; not the server)

    def seed(self, seed: int) -> None:
        import torch

        super().seed(seed)
        torch.manual_seed(seed)

    @functools.cached_property
    def device(self) -> str:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def native_bfloat16(self) -> bool:
        """Whether the device computes bfloat16 natively: a CUDA GPU with bfloat16 support, or a
        CPU with AVX512-BF16/AMX (:func:`mtrl.precision.cpu_has_bfloat16`)."""
        if self.device == "cuda":
            import torch

            return bool(torch.cuda.is_bf16_supported())
        from mtrl.precision import cpu_has_bfloat16

        return cpu_has_bfloat16()

    def auto_precision(self, shape=None):
        """On a CUDA GPU bfloat16 where it supports it; on a CPU with native bfloat16, whichever
        precision a short measurement at ``shape`` finds faster (:mod:`mtrl.calibration`, cached
        per CPU model, threads and versions); float32 on other CPUs (not measured)."""
        from mtrl.precision import BFLOAT16, FLOAT32, PrecisionChoice, cpu_model_name

        native = self.native_bfloat16()
        if self.device == "cuda":
            support = "supports" if native else "does not support"
            return PrecisionChoice(BFLOAT16 if native else FLOAT32, f"the CUDA GPU {support} bfloat16")
        if not native:
            logging.getLogger("mtrl").info(
                "precision auto: this CPU has no AVX512-BF16/AMX, so PyTorch trains in float32 "
                "(the default study: 1.6x the bfloat16 time, still faster than JAX; README, Performance)"
            )
            reason = f"the CPU ({cpu_model_name()}) has no AVX512-BF16/AMX-BF16 instructions (not measured)"
            return PrecisionChoice(FLOAT32, reason)
        return self._calibrated(shape)

    def _calibrated(self, shape):
        from mtrl.calibration import NetworkShape, calibrated_choice, calibration_key
        from mtrl.runtime import cache_dir

        shape = shape or NetworkShape()
        key = calibration_key(shape, self.threads())
        choice = calibrated_choice(key, lambda: self.measure_step_seconds(shape), cache_dir("precision"))
        logging.getLogger("mtrl").info("precision auto: %s: %s", choice.precision, choice.reason)
        return choice

    def threads(self) -> int:
        """The CPU threads PyTorch computes with in this process."""
        import torch

        return torch.get_num_threads()

    def measure_step_seconds(self, shape) -> dict[str, list[float]]:
        """Training-step times in float32 and bfloat16 at ``shape`` (:mod:`.calibrate`)."""
        from mtrl.backends.torch.calibrate import measure_step_seconds

        return measure_step_seconds(self, shape)

    def hardware_note(self, precision: str) -> str | None:
        if precision != "bfloat16" or self.native_bfloat16():
            return None
        where = "GPU" if self.device == "cuda" else "CPU (no AVX512-BF16/AMX-BF16)"
        return f"this {where} has no native bfloat16 (slower here, but the study's precision)"

    def training_view(self, model, precision: str, device_rows: bool):
        from mtrl.backends.torch.autocast import autocast_view

        return autocast_view(model, "bfloat16" if precision == "bfloat16" else None)

    def gradient_view(self, trainer, weighting, slugs):
        """The training view whose steps combine the tasks' gradients of the shared weights by
        ``weighting``'s TorchJD aggregator (:mod:`.gradients`)."""
        from mtrl.backends.torch.gradients import gradient_view

        return gradient_view(trainer, weighting, slugs)

    def optimizer(self, name: str, learning_rate: float):
        from mtrl.backends.torch.adam import fast_optimizer

        return fast_optimizer(name, learning_rate) or name

    def reads_sparse_batches(self, trainer) -> bool:
        """On a CPU the training view reads each batch's words directly (no dense batch)."""
        return bool(getattr(trainer, "reads_sparse_batches", False)) and self.device == "cpu"

    def group_engine(self, spec):
        """Replicate groups of hard-sharing runs with a constant weighting and Adam train stacked
        in one loop (:mod:`.stacked`)."""
        from mtrl.backends.torch.stacked import group_engine

        return group_engine(spec)

    def prediction_plan(self, model):
        """On a CPU the whole network through the lean float32 forward pass
        (:class:`~mtrl.backends.torch.predict.TorchSparsePlan`)."""
        if self.device != "cpu":
            return super().prediction_plan(model)
        from mtrl.backends.torch.predict import TorchSparsePlan

        return TorchSparsePlan.of(model)
