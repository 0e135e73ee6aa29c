"""Cross-stitch networks (Misra et al. 2016, CVPR, doi:10.1109/CVPR.2016.433).

Each task has its own tower of the study's hidden layers; after the chosen hidden layers a
cross-stitch unit mixes the towers' activations with a learned T x T matrix ``alpha``:
``h'_t = sum_s alpha[t, s] * h_s`` (T tasks). As in the paper, ``alpha`` starts near the identity
(``alpha_same`` on the diagonal, the rest of 1 split evenly over the other tasks: each row sums to
1), so that training starts from separate towers and learns how much to share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mtrl.architectures.base import Architecture
from mtrl.architectures.checks import checked_fraction, checked_layers, option_key
from mtrl.tasks import TaskSpec


def initial_alpha(n_tasks: int, alpha_same: float) -> np.ndarray:
    """The initial T x T mixing matrix: ``alpha_same`` on the diagonal, ``(1 - alpha_same) / (T - 1)``
    elsewhere (T = 1: the 1 x 1 identity)."""
    if n_tasks == 1:
        return np.ones((1, 1))
    other = (1.0 - alpha_same) / (n_tasks - 1)
    return np.full((n_tasks, n_tasks), other) + np.eye(n_tasks) * (alpha_same - other)


class CrossStitch(Architecture):
    """One tower per task of the study's widths and dropout, with cross-stitch units after the
    hidden ``layers`` (numbers from 1, or ``"all"``).

    Layers: ``<task>_<depth>`` (the towers, as hard sharing's private layers) and, per unit,
    ``<task>_stitch_<depth>``: a bias-free ``Dense(1)`` over the stacked towers whose kernel is row
    ``t`` of ``alpha`` (one T x T matrix per unit in all). With one task there are no units.
    """

    name: ClassVar[str] = "cross_stitch"
    options: ClassVar[tuple[str, ...]] = ("layers", "alpha_same")

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        layers: Sequence[int] | str,
        alpha_same: float,
    ) -> None:
        super().__init__(widths, dropout, activation)
        self.layers = checked_layers(layers, len(self.widths), option_key(self.name, "layers"))
        self.alpha_same = checked_fraction(alpha_same, option_key(self.name, "alpha_same"))

    def towers(self, inputs: Any, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        from keras import layers

        towers = {task.slug: inputs for task in tasks}
        for depth, (width, rate) in enumerate(zip(self.widths, self.dropout, strict=True), start=1):
            for slug, h in towers.items():
                h = layers.Dense(width, activation=self.activation, name=f"{slug}_{depth}")(h)
                if rate > 0:
                    h = layers.Dropout(rate, name=f"{slug}_{depth}_dropout")(h)
                towers[slug] = h
            if depth in self.layers and len(tasks) > 1:
                towers = self._unit(towers, depth, width)
        return towers

    def _unit(self, towers: dict[str, Any], depth: int, width: int) -> dict[str, Any]:
        """A cross-stitch unit: the towers stacked as (batch, width, T), mixed by ``alpha``."""
        from keras import layers

        columns = [layers.Reshape((width, 1), name=f"{slug}_{depth}_column")(h) for slug, h in towers.items()]
        stack = layers.Concatenate(axis=-1, name=f"stitch_{depth}_towers")(columns)
        alpha = initial_alpha(len(towers), self.alpha_same)
        mixed = {}
        for row, slug in enumerate(towers):
            mix = layers.Dense(1, use_bias=False, name=f"{slug}_stitch_{depth}")
            out = mix(stack)  # builds the layer: its kernel (T x 1) is row `row` of alpha
            mix.kernel.assign(alpha[row].reshape(-1, 1).astype(mix.kernel.dtype))
            mixed[slug] = layers.Reshape((width,), name=f"{slug}_stitch_{depth}_out")(out)
        return mixed

    def parameter_count(self, input_dim: int, tasks: Sequence[TaskSpec]) -> int:
        total, fan_in = 0, input_dim
        for width in self.widths:
            total += len(tasks) * (fan_in + 1) * width
            fan_in = width
        units = len(self.layers) if len(tasks) > 1 else 0
        return total + units * len(tasks) ** 2

    def describe(self) -> dict[str, Any]:
        return {
            "architecture": {"name": self.name, "layers": list(self.layers), "alpha_same": self.alpha_same}
        }
