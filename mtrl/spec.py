"""The definition of one training run, as the workflow hands it to a training job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mtrl.architectures import DEFAULT_ARCHITECTURE
from mtrl.data.replicates import ALWAYS
from mtrl.weightings import DEFAULT_WEIGHTING


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run.

    The workflow fills every field from the config (:func:`mtrl.config.run_parameters`, whose
    defaults are the schema's); the defaults here only serve runs built by hand (tests,
    benchmarks) and are the study's network and training settings.
    """

    tasks: Sequence[str]
    target: str
    n_train: int
    seed: int
    sharing_mask: Sequence[bool] = ()  # hard sharing's mask (recorded in metrics.json)
    widths: Sequence[int] = (1024, 512, 256, 128)
    dropout: Sequence[float] = (0.0, 0.0, 0.5, 0.5)
    activation: str = "relu"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 100
    patience: int = 5
    monitor: str = "target"  # early stopping on the target's validation loss, or "total"
    loss_weights: Mapping[str, float] = field(default_factory=dict)
    auxiliary_use_all_labels: bool = False
    feature_transform: str = "log1p"
    class_weight: str = "none"  # none | balanced: classes weighted by n / (n_classes * n_class)
    threshold: str = "fixed"  # fixed (0.5) | validation: binary decision threshold chosen on val
    precision: str = "auto"  # auto | float32 | bfloat16 (resolved by the backend)
    labels: Mapping[str, Any] = field(default_factory=dict)  # run identity written to metrics.json
    architecture: str = DEFAULT_ARCHITECTURE  # the sharing strategy (mtrl.architectures)
    architecture_options: Mapping[str, Any] = field(default_factory=dict)  # its own options
    weighting: str = DEFAULT_WEIGHTING  # how per-task losses make the update (mtrl.weightings)
    weighting_options: Mapping[str, Any] = field(default_factory=dict)  # config weightings.<name>
    vary: Sequence[str] = ALWAYS  # what the seed varies (replicates.vary; mtrl.data.replicates)
    split_by: str | None = None  # the study's target, by which a re-drawn split is dealt (None: target)
    paired_init: bool = False  # initial weights drawn per tower, paired with the partner's (mtrl.model)
    network: int = 0  # which of its seed's single-task networks (replicates.single_task_networks)

    @property
    def training_seed(self) -> int:
        """The seed of the run's training draws (initial weights, dropout, batch order).

        The run's ``seed`` itself for network 0 (every multi-task run, and a seed's first
        single-task network: the same draws as before networks existed); for another network of the
        seed's single-task baseline, a seed of its own from ``(seed, network)``. The data a seed
        draws (``replicates.vary``: subset, split) always follow ``seed``, so every network of a
        seed trains and is tested on its multi-task partner's rows.
        """
        return training_seed(self.seed, self.network)


def training_seed(seed: int, network: int) -> int:
    """``seed`` for network 0, else a seed drawn from ``(seed, network)`` (NumPy ``SeedSequence``)."""
    if network == 0:
        return int(seed)
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(network)]).generate_state(1)[0] >> 1)
