"""Multi-gate Mixture-of-Experts (MMoE; Ma et al. 2018, KDD, doi:10.1145/3219819.3220007).

``experts`` expert MLPs read the input; each task has its own softmax gate, a linear layer on the
input: task ``k``'s tower is ``f_k(x) = sum_i softmax(W_k x + b_k)_i * expert_i(x)``, and its
head reads ``f_k(x)``. Every expert is shared by every task; the gates decide, per example, how
much of each one a task uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mtrl.architectures.checks import checked_count, option_key
from mtrl.architectures.experts import (
    ExpertArchitecture,
    expert,
    expert_parameters,
    gate_parameters,
    gated_sum,
    softmax_gate,
    stacked,
)
from mtrl.tasks import TaskSpec


class MultiGateMixtureOfExperts(ExpertArchitecture):
    """MMoE: ``experts`` shared expert MLPs of ``expert_widths``, one softmax gate per task.

    Layers: ``expert<i>_<depth>`` (expert ``i``, from 1), ``<task>_gate`` and ``<task>_mixture``
    (the gated sum).
    """

    name: ClassVar[str] = "mmoe"
    options: ClassVar[tuple[str, ...]] = ("experts", "expert_widths", "expert_dropout")

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        experts: int,
        expert_widths: Sequence[int] | None = None,
        expert_dropout: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            widths, dropout, activation, expert_widths=expert_widths, expert_dropout=expert_dropout
        )
        self.experts = checked_count(experts, option_key(self.name, "experts"))

    def towers(self, inputs: Any, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        outputs = [
            expert(inputs, self.expert_widths, self.expert_dropout, self.activation, f"expert{i}")
            for i in range(1, self.experts + 1)
        ]
        stack = stacked(outputs, "experts")
        return {
            task.slug: gated_sum(
                softmax_gate(inputs, self.experts, f"{task.slug}_gate"), stack, f"{task.slug}_mixture"
            )
            for task in tasks
        }

    def parameter_count(self, input_dim: int, tasks: Sequence[TaskSpec]) -> int:
        experts = self.experts * expert_parameters(input_dim, self.expert_widths)
        return experts + len(tasks) * gate_parameters(input_dim, self.experts)

    def describe(self) -> dict[str, Any]:
        return {"architecture": {"name": self.name, "experts": self.experts, **self._expert_options()}}
