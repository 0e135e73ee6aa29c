"""Progressive Layered Extraction (PLE) and its one-level form, Customized Gate Control (CGC)
(Tang et al. 2020, RecSys, doi:10.1145/3383313.3412236).

Each extraction level ``k`` has ``task_experts`` expert MLPs per task and ``shared_experts``
shared ones. Task ``t``'s gate mixes its own and the shared experts,
``g_t^k = sum_i softmax(W_t^k h_t^(k-1))_i * E_i(.)`` over ``[E_t^k, E_s^k]``; below the last
level a shared gate mixes every expert of the level, ``g_s^k`` over ``[E_1^k, ..., E_T^k, E_s^k]``
on ``h_s^(k-1)``. Task experts read their task's previous output ``h_t^(k-1) = g_t^(k-1)``, shared
experts the shared one (level 1: both the input). Each task's head reads ``g_t^L``. The expert
layers (``expert_widths``) are split over the levels in order, as evenly as possible, so that
the network keeps the study's depth (4 layers, 2 levels: layers 1-2 in level 1, 3-4 in level 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mtrl.architectures.checks import checked_count, level_widths, option_key
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


class ProgressiveLayeredExtraction(ExpertArchitecture):
    """PLE: ``levels`` extraction levels of task-specific and shared experts with gates.

    Layers of level ``k``: ``level<k>_<task>_expert<i>_<depth>``,
    ``level<k>_shared_expert<i>_<depth>``, ``level<k>_<task>_gate``/``_mixture`` and, below the
    last level, ``level<k>_shared_gate``/``_mixture``.
    """

    name: ClassVar[str] = "ple"
    options: ClassVar[tuple[str, ...]] = (
        "levels",
        "shared_experts",
        "task_experts",
        "expert_widths",
        "expert_dropout",
    )

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        levels: int,
        shared_experts: int,
        task_experts: int,
        expert_widths: Sequence[int] | None = None,
        expert_dropout: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            widths, dropout, activation, expert_widths=expert_widths, expert_dropout=expert_dropout
        )
        self.levels = checked_count(levels, option_key(self.name, "levels"))
        self.shared_experts = checked_count(shared_experts, option_key(self.name, "shared_experts"))
        self.task_experts = checked_count(task_experts, option_key(self.name, "task_experts"))
        self.level_widths = level_widths(
            self.expert_widths, self.levels, option_key(self.name, "levels"), self.widths_key
        )
        sizes = [len(w) for w in self.level_widths]
        starts = [sum(sizes[:k]) for k in range(len(sizes))]
        self.level_dropout = [self.expert_dropout[s : s + n] for s, n in zip(starts, sizes, strict=True)]

    def towers(self, inputs: Any, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        task_inputs, shared_input = {task.slug: inputs for task in tasks}, inputs
        for level in range(1, self.levels + 1):
            task_inputs, shared_input = self._level(level, task_inputs, shared_input)
        return task_inputs

    def _level(
        self, level: int, task_inputs: dict[str, Any], shared_input: Any
    ) -> tuple[dict[str, Any], Any]:
        """One extraction level: its experts, then each task's gate, then the shared gate (if any)."""
        widths, rates = self.level_widths[level - 1], self.level_dropout[level - 1]
        prefix = f"level{level}"

        def experts(h: Any, owner: str, count: int) -> list[Any]:
            return [
                expert(h, widths, rates, self.activation, f"{prefix}_{owner}_expert{i}")
                for i in range(1, count + 1)
            ]

        own = {slug: experts(h, slug, self.task_experts) for slug, h in task_inputs.items()}
        shared = experts(shared_input, "shared", self.shared_experts)
        outputs = {}
        for slug, h in task_inputs.items():
            gate = softmax_gate(h, self.task_experts + self.shared_experts, f"{prefix}_{slug}_gate")
            stack = stacked([*own[slug], *shared], f"{prefix}_{slug}_experts")
            outputs[slug] = gated_sum(gate, stack, f"{prefix}_{slug}_mixture")
        if level == self.levels:
            return outputs, None
        every = [*(e for slug in task_inputs for e in own[slug]), *shared]
        gate = softmax_gate(shared_input, len(every), f"{prefix}_shared_gate")
        shared_output = gated_sum(
            gate, stacked(every, f"{prefix}_shared_experts"), f"{prefix}_shared_mixture"
        )
        return outputs, shared_output

    def parameter_count(self, input_dim: int, tasks: Sequence[TaskSpec]) -> int:
        total, fan_in, n_tasks = 0, input_dim, len(tasks)
        per_task_gate = self.task_experts + self.shared_experts
        for level, widths in enumerate(self.level_widths, start=1):
            total += (n_tasks * self.task_experts + self.shared_experts) * expert_parameters(fan_in, widths)
            total += n_tasks * gate_parameters(fan_in, per_task_gate)
            if level < self.levels:
                total += gate_parameters(fan_in, n_tasks * self.task_experts + self.shared_experts)
            fan_in = widths[-1]
        return total

    def describe(self) -> dict[str, Any]:
        counts = {"shared_experts": self.shared_experts, "task_experts": self.task_experts}
        levels = {"levels": self.levels} if "levels" in self.options else {}
        return {"architecture": {"name": self.name, **levels, **counts, **self._expert_options()}}


class CustomizedGateControl(ProgressiveLayeredExtraction):
    """CGC: PLE with one extraction level (no shared gate)."""

    name: ClassVar[str] = "cgc"
    options: ClassVar[tuple[str, ...]] = ("shared_experts", "task_experts", "expert_widths", "expert_dropout")

    def __init__(
        self,
        widths: Sequence[int],
        dropout: Sequence[float],
        activation: str = "relu",
        *,
        shared_experts: int,
        task_experts: int,
        expert_widths: Sequence[int] | None = None,
        expert_dropout: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            widths,
            dropout,
            activation,
            levels=1,
            shared_experts=shared_experts,
            task_experts=task_experts,
            expert_widths=expert_widths,
            expert_dropout=expert_dropout,
        )
