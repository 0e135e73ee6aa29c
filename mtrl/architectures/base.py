"""The interface of a sharing strategy: how the task towers of the network share hidden layers.

An :class:`Architecture` builds the hidden layers between the input and the task heads:
:func:`mtrl.model.build_model` creates the input, calls :meth:`Architecture.towers` and puts one
head on each tower. A new strategy is one class in one module, registered by name in
:data:`mtrl.architectures.ARCHITECTURES`. This module imports no Keras.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from mtrl.tasks import TaskSpec


class Architecture(ABC):
    """Hidden layers of the (multi-task) network, from the study's ``model`` settings.

    ``widths`` and ``dropout`` give one entry per hidden layer (dropout after the layer where the
    rate is above 0, active only in training), ``activation`` is the hidden layers' activation.
    A subclass adds its own keyword options and lists their names in :attr:`options`: the run
    parameters it reads (:func:`mtrl.architectures.architecture_of`).
    """

    #: Names of the subclass's own keyword options, as they appear in a run's parameters.
    options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, widths: Sequence[int], dropout: Sequence[float], activation: str = "relu") -> None:
        if len(dropout) != len(widths):
            raise ValueError(
                f"model.dropout = {list(dropout)} needs one rate per hidden layer "
                f"(model.widths = {list(widths)} has {len(widths)})"
            )
        self.widths = tuple(int(w) for w in widths)
        self.dropout = tuple(float(r) for r in dropout)
        self.activation = activation

    @abstractmethod
    def towers(self, inputs: Any, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        """Build the hidden layers on the Keras tensor ``inputs``: task slug -> tower output.

        Layers are created here, in a fixed order: that order decides the initial weights drawn
        for a given seed.
        """

    @abstractmethod
    def parameter_count(self, input_dim: int, tasks: Sequence[TaskSpec]) -> int:
        """Closed-form number of trainable parameters of the hidden layers (heads excluded)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What a run records about its architecture (JSON-ready values)."""

    def output_dim(self, input_dim: int) -> int:
        """Width of each tower's output, the input of the task heads."""
        return self.widths[-1] if self.widths else input_dim
