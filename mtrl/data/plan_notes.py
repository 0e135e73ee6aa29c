"""What the study plan says of one training job, for the training rules' ``message:``.

Snakemake formats a rule's message with the workflow's globals, and a format spec may hold the job's
wildcards, so a rule can ask ``{PLAN_NOTES:single {wildcards.task} {wildcards.n_train} {output.metrics}}``
(``{PLAN_NOTES:+ single ...}``: the note after ``"; "``, to end a message of the rule's own).
:class:`PlanNotes` answers from the prepared data once it exists (:func:`mtrl.data.plan.plan_study` on
its labels, read again when the file changes): ``snakemake -n`` after preparation says which runs are
capped or left out of the statistics. The answer is empty for a run the plan has nothing to say about
(and before preparation), and an empty message leaves Snakemake's usual job description in place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from mtrl.data.plan import OK, PlannedCell, plan_study
from mtrl.data.prepared import read_prepared_labels
from mtrl.tasks import task_slug

log = logging.getLogger(__name__)

SINGLE_SPEC = "single"  # single <task slug> <n_train> <path>
MULTITASK_SPEC = "multitask"  # multitask <n_train> <path>
APPEND_SPEC = "+ "  # "+ <spec>": the note after "; ", to end another message (empty when none)


class PlanNotes:
    """The plan's note on a training job, by format spec (see the module docstring)."""

    def __init__(
        self, data: str | os.PathLike, tasks: Sequence[str], target: str, train_sizes: Sequence[int]
    ) -> None:
        self.data = data
        self.tasks = list(tasks)
        self.target = target
        self.train_sizes = list(train_sizes)
        self._version: tuple | None = None
        self._cells: dict[tuple[str, int], PlannedCell] = {}

    def cells(self) -> dict[tuple[str, int], PlannedCell]:
        """(task slug, requested size) -> planned cell; empty while the prepared data are absent."""
        try:
            st = os.stat(self.data)
        except OSError:
            return {}
        version = (st.st_ino, st.st_size, st.st_mtime_ns)
        if version != self._version:
            self._version = version
            try:
                labels = read_prepared_labels(self.data)
                planned = plan_study(labels, self.tasks, self.target, self.train_sizes)
            except Exception as err:  # a stale or foreign file: prepare_data will say what is wrong
                log.debug("no study plan from %s: %s", self.data, err)
                planned = []
            self._cells = {(task_slug(c.task), c.n_train): c for c in planned}
        return self._cells

    def note(self, kind: str, slug: str, n_train: int, path: str) -> str:
        """The note on one run (``slug``: its task's) with its path; empty when all is well."""
        cell = self.cells().get((slug, n_train))
        if cell is None or cell.status == OK:
            return ""
        if kind == MULTITASK_SPEC and not cell.excluded:
            return ""
        if cell.excluded:
            return f"{path}: trains, but every statistic leaves it out: {cell.reason} (tables/plan.csv)"
        return f"{path}: {cell.status} at {cell.n_actual}: {cell.reason} (tables/plan.csv)"

    def __format__(self, spec: str) -> str:
        if spec.startswith(APPEND_SPEC):
            note = self.__format__(spec.removeprefix(APPEND_SPEC))
            return f"; {note}" if note else ""
        try:
            kind, rest = spec.split(" ", 1)
            if kind == SINGLE_SPEC:
                slug, n_train, path = rest.split(" ", 2)
            else:
                slug = task_slug(self.target)
                n_train, path = rest.split(" ", 1)
            return self.note(kind, slug, int(n_train), path)
        except Exception as err:  # a message must never stop the workflow
            log.debug("no plan note for %r: %s", spec, err)
            return ""
