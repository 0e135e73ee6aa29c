"""Experts and softmax gates, the building blocks of the mixture architectures (MMoE, CGC, PLE).

An expert is an MLP (Dense layers of ``expert_widths``, dropout after a layer whose rate is above
0); a gate is a linear layer with a softmax over the experts it mixes (with a bias, as in LibMTL);
a task's (or the shared) output is the gate-weighted sum of its experts' outputs. Every block is a
built-in Keras layer, so a saved model loads without mtrl; Keras is imported when a network is
built, not with this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mtrl.architectures.base import Architecture
from mtrl.architectures.checks import checked_rates, checked_widths, option_key


class ExpertArchitecture(Architecture):
    """A mixture of expert MLPs: ``expert_widths`` (None: the study's ``model.widths``) and one
    dropout rate per expert layer, ``expert_dropout`` (None: ``model.dropout``)."""

    #: The architecture's name in ``sharing`` and under ``architectures``.
    name: ClassVar[str]

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        expert_widths: Sequence[int] | None = None,
        expert_dropout: Sequence[float] | None = None,
    ) -> None:
        super().__init__(widths, dropout, activation)
        widths_key = option_key(self.name, "expert_widths")
        self.expert_widths = (
            self.widths if expert_widths is None else checked_widths(expert_widths, widths_key)
        )
        #: how errors name the expert layers: the option, or model.widths where it is null
        self.widths_key = f"model.widths ({widths_key} is null)" if expert_widths is None else widths_key
        what = option_key(self.name, "expert_dropout")
        if expert_dropout is None and len(self.dropout) != len(self.expert_widths):
            raise ValueError(
                f"{what} is null, which takes model.dropout = {list(self.dropout)}, but {widths_key} = "
                f"{list(self.expert_widths)} has {len(self.expert_widths)} layers; give {what}, one "
                "dropout rate per expert layer"
            )
        rates = self.dropout if expert_dropout is None else expert_dropout
        self.expert_dropout = checked_rates(rates, len(self.expert_widths), what, self.widths_key)

    def output_dim(self, input_dim: int) -> int:
        return self.expert_widths[-1]

    def _expert_options(self) -> dict[str, Any]:
        return {"expert_widths": list(self.expert_widths), "expert_dropout": list(self.expert_dropout)}


def expert(inputs: Any, widths: Sequence[int], dropout: Sequence[float], activation: str, prefix: str) -> Any:
    """An expert MLP on ``inputs``; its layers are named ``<prefix>_<depth>`` (1 = the first)."""
    from keras import layers

    h = inputs
    for depth, (width, rate) in enumerate(zip(widths, dropout, strict=True), start=1):
        h = layers.Dense(width, activation=activation, name=f"{prefix}_{depth}")(h)
        if rate > 0:
            h = layers.Dropout(rate, name=f"{prefix}_{depth}_dropout")(h)
    return h


def expert_parameters(fan_in: int, widths: Sequence[int]) -> int:
    """Trainable parameters of one expert MLP on ``fan_in`` inputs."""
    total = 0
    for width in widths:
        total += (fan_in + 1) * width
        fan_in = width
    return total


def softmax_gate(inputs: Any, n_experts: int, name: str) -> Any:
    """Gate weights over ``n_experts`` experts: ``softmax(inputs @ W + b)``, shape (batch, experts)."""
    from keras import layers

    return layers.Dense(n_experts, activation="softmax", name=name)(inputs)


def gate_parameters(fan_in: int, n_experts: int) -> int:
    """Trainable parameters of a softmax gate on ``fan_in`` inputs over ``n_experts`` experts."""
    return (fan_in + 1) * n_experts


def stacked(experts: Sequence[Any], name: str) -> Any:
    """Expert outputs (each (batch, width)) stacked as (batch, experts, width)."""
    from keras import layers

    width = experts[0].shape[-1]
    rows = [layers.Reshape((1, width), name=f"{name}_{i}")(e) for i, e in enumerate(experts, start=1)]
    return rows[0] if len(rows) == 1 else layers.Concatenate(axis=1, name=name)(rows)


def gated_sum(gate: Any, stack: Any, name: str) -> Any:
    """``sum_i gate[:, i] * stack[:, i, :]``: the gate-weighted sum of stacked experts, (batch, width)."""
    from keras import layers

    return layers.Dot(axes=(1, 1), name=name)([gate, stack])
