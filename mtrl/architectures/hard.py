"""Hard parameter sharing: each hidden layer is shared by every task tower or private to each.

A shared layer is ONE ``Dense`` object that every task tower calls; a private layer is one
``Dense`` per task. Shared layers that see the same input tensor (e.g. layers 1-2 of the ``low``
preset) are computed once; a shared layer after private ones (e.g. layer 4 of ``interspersed``)
applies the same weights to each tower's activations. With one task every layer is that task's
own (named ``hidden_<depth>``), whatever the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from keras import layers

from mtrl.architectures.base import Architecture
from mtrl.architectures.presets import checked_mask
from mtrl.tasks import TaskSpec


class HardSharing(Architecture):
    """Hard sharing by a ``sharing_mask`` over the hidden layers (True or 1 = shared)."""

    options: ClassVar[tuple[str, ...]] = ("sharing_mask",)

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        sharing_mask: Sequence[bool],
    ) -> None:
        super().__init__(widths, dropout, activation)
        self.sharing_mask = checked_mask(sharing_mask, len(self.widths))

    def towers(self, inputs: Any, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        towers = {task.slug: inputs for task in tasks}
        layers_of = zip(self.widths, self.sharing_mask, self.dropout, strict=True)
        for depth, (width, shared, rate) in enumerate(layers_of, start=1):
            if shared and len(tasks) > 1:
                towers = self._shared_layer(towers, depth, width, rate)
            else:
                towers = self._private_layers(towers, depth, width, rate, single=len(tasks) == 1)
        return towers

    def _shared_layer(self, towers: dict[str, Any], depth: int, width: int, rate: float) -> dict[str, Any]:
        """One layer for every tower, applied once per distinct input tensor."""
        dense = layers.Dense(width, activation=self.activation, name=f"shared_{depth}")
        drop = layers.Dropout(rate, name=f"shared_{depth}_dropout") if rate > 0 else None
        computed: dict[int, Any] = {}
        out_towers = {}
        for slug, h in towers.items():
            if id(h) not in computed:
                out = dense(h)
                computed[id(h)] = drop(out) if drop is not None else out
            out_towers[slug] = computed[id(h)]
        return out_towers

    def _private_layers(
        self, towers: dict[str, Any], depth: int, width: int, rate: float, single: bool
    ) -> dict[str, Any]:
        """One layer per tower, named after its task (``hidden`` with one task)."""
        out_towers = {}
        for slug, h in towers.items():
            prefix = "hidden" if single else slug
            h = layers.Dense(width, activation=self.activation, name=f"{prefix}_{depth}")(h)
            if rate > 0:
                h = layers.Dropout(rate, name=f"{prefix}_{depth}_dropout")(h)
            out_towers[slug] = h
        return out_towers

    def parameter_count(self, input_dim: int, tasks: Sequence[TaskSpec]) -> int:
        total, fan_in = 0, input_dim
        for width, shared in zip(self.widths, self.sharing_mask, strict=True):
            copies = 1 if shared or len(tasks) == 1 else len(tasks)
            total += copies * (fan_in + 1) * width
            fan_in = width
        return total

    def describe(self) -> dict[str, Any]:
        return {"sharing_mask": [int(v) for v in self.sharing_mask]}
