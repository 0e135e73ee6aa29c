"""The interface of a loss-weighting method: how per-task losses become one update.

Three families (as in LibMTL's ``AbsWeighting``):

* loss-scaling methods with weights set per epoch (equal weights, dynamic weight average, random
  loss weighting) scale each task's loss; the trainer asks :meth:`Weighting.loss_weights` at the
  start of each epoch and minimises ``sum(w[t] * loss[t])``. When :attr:`Weighting.constant` is
  true the weights never change and can be given to ``compile`` once (the study's behaviour).
* learned loss weights (:attr:`Weighting.learned`: uncertainty weighting) are trainable variables
  of the training model; the method gives their loss (:mod:`mtrl.weightings.uncertainty`).
* gradient methods (PCGrad, MGDA, ...) set :attr:`Weighting.uses_gradients`: the trainer computes
  each task's gradient of the shared parameters (flattened to one vector per task) and updates
  them with :meth:`Weighting.combine` (the TorchJD methods: its aggregation of the Jacobian whose
  rows these are, :mod:`mtrl.weightings.gradient`); private parameters get their own task's
  gradient.

The default :meth:`Weighting.combine` is the weighted sum, which is the gradient of the weighted
loss: a scaling method needs nothing more. This module imports no Keras or backend; gradients are
any arrays that support ``*`` by a float and ``+`` (NumPy arrays or backend tensors).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class Weighting(ABC):
    """Loss weighting of the tasks ``tasks`` (task names, in the run's order)."""

    #: True for methods that never change their weights (they can go to ``compile`` once).
    constant: ClassVar[bool] = False
    #: True for methods that need each task's gradient of the shared parameters (:meth:`combine`).
    uses_gradients: ClassVar[bool] = False
    #: True for methods whose loss weights are trainable variables of the model (not per epoch).
    learned: ClassVar[bool] = False
    #: The Keras backends that can train with the method; None: every backend.
    backends: ClassVar[tuple[str, ...] | None] = None
    #: Constructor keyword -> the ``RunSpec`` field it is read from (:func:`mtrl.weightings.weighting_of`).
    run_fields: ClassVar[Mapping[str, str]] = {}

    def __init__(self, tasks: Sequence[str]) -> None:
        if not tasks:
            raise ValueError("a loss weighting needs at least one task")
        self.tasks = tuple(tasks)

    @abstractmethod
    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        """Weight of each task's loss (task name -> weight) during ``epoch`` (0 = the first).

        ``task_losses`` maps each task to its mean training loss of every finished epoch (empty
        lists before the first epoch ends).
        """

    def combine(self, grads: Mapping[str, Any], weights: Mapping[str, float]) -> Any:
        """The update direction of the shared parameters from each task's gradient of them.

        ``weights`` are this epoch's :meth:`loss_weights`. Default: ``sum(w[t] * grads[t])``.
        """
        self._check_grads(grads)
        total = None
        for task in self.tasks:
            term = grads[task] * float(weights[task])
            total = term if total is None else total + term
        return total

    def _check_grads(self, grads: Mapping[str, Any]) -> None:
        missing = [t for t in self.tasks if t not in grads]
        if missing:
            raise ValueError(f"combine: no gradient for task(s) {', '.join(missing)}")
