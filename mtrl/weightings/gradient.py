"""Gradient methods: per-task gradients of the shared parameters combined by a TorchJD aggregator.

Each method here names the TorchJD aggregator (``torchjd.aggregation``) that implements it and
its options; the PyTorch backend builds that aggregator and binds it (:meth:`GradientWeighting.bind`),
so :meth:`GradientWeighting.combine` returns TorchJD's aggregation of the rows ``w_t * g_t``
(``w_t``: ``training.loss_weights`` are not used; every ``w_t`` = 1) and
:meth:`GradientWeighting.aggregate` that of a Jacobian the trainer built itself. This module imports no
framework; the methods train on the backends in :attr:`GradientWeighting.backends` only. GradNorm
(:mod:`mtrl.weightings.gradnorm`) and FAMO (:mod:`mtrl.weightings.famo`) are methods of mtrl's own
that also read the step's task losses (:attr:`GradientWeighting.uses_losses`); FAMO also weights
the private parameters' gradients and reads the losses after the step.

* ``pcgrad``: PCGrad (Yu et al. 2020, "Gradient Surgery for Multi-Task Learning").
* ``cagrad``: CAGrad (Liu et al. 2021, "Conflict-Averse Gradient Descent"), option ``c``.
* ``mgda``: MGDA (Sener & Koltun 2018; Frank-Wolfe solver) on the shared parameters' gradients
  (not the "-UB" variant on the last shared representation).
* ``imtl_g``: IMTL-G (Liu et al. 2021, "Towards Impartial Multi-task Learning").
* ``nash_mtl``: Nash-MTL (Navon et al. 2022, "Multi-Task Learning as a Bargaining Game").
* ``aligned_mtl``: Aligned-MTL (Senushkin et al. 2023, "Independent Component Alignment").
* ``upgrad``: UPGrad (Quinton & Rey 2024, "Jacobian Descent for Multi-Objective Optimization").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from mtrl.weightings.base import Weighting

#: The backends that train gradient methods (TorchJD is a PyTorch library).
GRADIENT_BACKENDS = ("torch",)


class GradientWeighting(Weighting):
    """A gradient method: TorchJD's aggregator :attr:`aggregator` with the method's ``options``."""

    uses_gradients: ClassVar[bool] = True
    constant: ClassVar[bool] = True  # the loss weights (1 each); the step combines the gradients
    backends: ClassVar[tuple[str, ...] | None] = GRADIENT_BACKENDS
    #: The class name in ``torchjd.aggregation``.
    aggregator: ClassVar[str] = ""
    #: True where the aggregator takes the number of tasks (``n_tasks``) as its first argument.
    takes_n_tasks: ClassVar[bool] = False
    #: True where :meth:`aggregate` needs the step's task losses too (GradNorm, FAMO).
    uses_losses: ClassVar[bool] = False
    #: True where a private parameter's gradient is scaled by its task's weight (FAMO); else as is.
    scales_private: ClassVar[bool] = False
    #: True where the trainer hands :meth:`update` the batch's task losses after each step (FAMO).
    updates_after_step: ClassVar[bool] = False

    def __init__(self, tasks: Sequence[str], **options: Any) -> None:
        super().__init__(tasks)
        self.options = dict(options)
        self._stack: Callable[[Sequence[Any]], Any] | None = None
        self._aggregate: Callable[[Any, Any], tuple[Any, Any]] | None = None

    def aggregator_arguments(self) -> dict[str, Any]:
        """The keyword arguments of TorchJD's aggregator class."""
        extra = {"n_tasks": len(self.tasks)} if self.takes_n_tasks else {}
        return {**extra, **self.options}

    def loss_weights(self, epoch: int, task_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
        return dict.fromkeys(self.tasks, 1.0)

    def bind(
        self, stack: Callable[[Sequence[Any]], Any], aggregate: Callable[[Any, Any], tuple[Any, Any]]
    ) -> None:
        """Set how rows become the Jacobian (``stack``) and how it is aggregated: (Jacobian, task
        losses or None) -> (direction, task weights)."""
        self._stack, self._aggregate = stack, aggregate

    def combine(self, grads: Mapping[str, Any], weights: Mapping[str, float]) -> Any:
        """TorchJD's aggregation of the rows ``weights[t] * grads[t]`` (one row per task)."""
        self._check_grads(grads)
        rows = [grads[t] if float(weights[t]) == 1.0 else grads[t] * float(weights[t]) for t in self.tasks]
        self._check_bound()
        return self.aggregate(self._stack(rows))[0]

    def aggregate(self, jacobian: Any, losses: Any = None) -> tuple[Any, Any]:
        """``(direction, task weights)`` of the Jacobian (one row per task, in :attr:`tasks` order):
        the aggregation and the weights of the rows it sums. ``losses``: the step's task losses
        (a vector in the same order), read only by methods with :attr:`uses_losses`."""
        self._check_bound()
        return self._aggregate(jacobian, losses)

    def update(self, losses_after: Any) -> None:
        """Learn from the batch's task losses after the step (:attr:`updates_after_step`)."""

    def _check_bound(self) -> None:
        if self._aggregate is None:
            raise RuntimeError(
                f"{type(self).__name__}: no aggregator bound; gradient methods train on backend(s) "
                f"{', '.join(GRADIENT_BACKENDS)}, which bind TorchJD's {self.aggregator}"
            )


class PCGrad(GradientWeighting):
    """PCGrad: each gradient projected off the others it conflicts with, then summed."""

    aggregator = "PCGrad"


class CAGrad(GradientWeighting):
    """CAGrad: the update that maximises the worst task's improvement near the mean gradient."""

    aggregator = "CAGrad"


class MGDA(GradientWeighting):
    """MGDA: the minimum-norm point of the convex hull of the gradients."""

    aggregator = "MGDA"


class IMTLG(GradientWeighting):
    """IMTL-G: the update with equal projections on every task's unit gradient."""

    aggregator = "IMTLG"


class NashMTL(GradientWeighting):
    """Nash-MTL: the Nash bargaining solution of the tasks' gradients."""

    aggregator = "NashMTL"
    takes_n_tasks = True


class AlignedMTL(GradientWeighting):
    """Aligned-MTL: the gradients aligned to an orthogonal, equally scaled system."""

    aggregator = "AlignedMTL"


class UPGrad(GradientWeighting):
    """UPGrad: each gradient projected onto the dual cone of all of them, then averaged."""

    aggregator = "UPGrad"
