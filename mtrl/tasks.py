"""Task descriptions shared by data preparation, models and metrics (no framework imports)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

from mtrl.metric_names import AUTO, metric_reason, resolve_metric

if TYPE_CHECKING:
    import pandas as pd

TaskKind = Literal["binary", "multiclass", "regression"]
TASK_KINDS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class TaskSpec:
    """One prediction task: its name, kind and (for multiclass) its class names."""

    name: str
    kind: TaskKind
    classes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f"task {self.name!r}: kind {self.kind!r} is not one of {', '.join(TASK_KINDS)}")
        if self.kind == "multiclass" and len(self.classes) < 3:
            raise ValueError(f"task {self.name!r}: a multiclass task needs at least 3 classes")

    @property
    def is_classification(self) -> bool:
        return self.kind in ("binary", "multiclass")

    @property
    def n_outputs(self) -> int:
        """Width of the task's output layer."""
        return len(self.classes) if self.kind == "multiclass" else 1

    @property
    def slug(self) -> str:
        """A file-system and Keras-safe name (``genre:Pop_Rock`` -> ``genre_Pop_Rock``)."""
        return task_slug(self.name)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TaskSpec:
        return cls(name=d["name"], kind=d["kind"], classes=tuple(d.get("classes", ())))


def task_slug(name: str) -> str:
    """Map a task name to ``[A-Za-z0-9_]+`` (used in paths and as Keras layer names)."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not slug:
        raise ValueError(f"task name {name!r} has no letters or digits to name files with")
    return slug


def slug_clash(names: Iterable[str]) -> tuple[str, str, str] | None:
    """The first two different ``names`` that share a slug, and that slug (None when all differ).

    Raises ValueError (from :func:`task_slug`) for a name without letters or digits.
    """
    seen: dict[str, str] = {}
    for name in names:
        slug = task_slug(name)
        if seen.setdefault(slug, name) != name:
            return seen[slug], name, slug
    return None


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (gains are sign-adjusted with this)."""
    return metric in {"accuracy", "balanced_accuracy", "roc_auc", "f1", "r2"}


def primary_metric(table: pd.DataFrame, target: str | None = None, setting: str = AUTO) -> str:
    """The metric the target is judged by: ``setting`` (``findings.metric``) resolved for its kind.

    ``auto`` picks by the target's kind (:data:`mtrl.metric_names.AUTO_METRIC`: ROC-AUC for a
    binary target, log-loss for a multiclass one, RMSE for a regression). ``table`` (runs, summary
    or comparison) has a ``metric`` column, a ``task`` column when ``target`` is given, and the
    kind in a ``task_kind`` column (``runs.csv``); a table without it judges a classification
    target by error, as before. Every part of the study that judges the target (findings, the
    comparison heatmap, the training-size plot) resolves its metric here. ValueError for a metric
    the target's kind does not have, or one the table has no rows of.
    """
    rows = table if target is None else table[table["task"] == target]
    metrics = set(rows["metric"])
    kind = target_kind(rows)
    metric = resolve_metric(setting, kind)
    if metric not in metrics:
        raise ValueError(
            f"findings.metric = {setting!r}: the table has no {metric!r} values"
            + ("" if target is None else f" of target {target!r}")
            + f" (it has {', '.join(sorted(metrics))})"
        )
    return metric


def target_kind(rows: pd.DataFrame) -> str | None:
    """The task kind of ``rows`` (one task's rows): their ``task_kind``, else ``regression`` when
    they have RMSE values, else None (a classification table without task kinds)."""
    if "task_kind" in rows:
        kinds = sorted(set(rows["task_kind"].dropna()))
        if len(kinds) > 1:
            raise ValueError(f"the rows mix task kinds {kinds}: select one task's rows")
        if kinds:
            return str(kinds[0])
    return "regression" if "rmse" in set(rows["metric"]) else None


def metric_choice(table: pd.DataFrame, target: str, setting: str = AUTO) -> tuple[str, str]:
    """``(metric, reason)``: :func:`primary_metric` and why it judges the target, for the findings."""
    metric = primary_metric(table, target, setting)
    return metric, metric_reason(metric, setting, target_kind(table[table["task"] == target]))
