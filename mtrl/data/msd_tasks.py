"""The MSD tasks: which the collected labels support, and each task's labels.

Task names and kinds are described in :mod:`mtrl.data.msd`; :func:`derive_task` turns one name
into float64 labels aligned with the lyric rows (NaN = missing, a class index for classification)
and counts why rows lack a label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mtrl.data.msd_join import LabelColumns, missing_values
from mtrl.tasks import TASK_KINDS, TaskSpec

# regression task -> label column
REGRESSION_TASKS: dict[str, str] = {
    "loudness": "loudness",
    "year": "year",
    "tempo": "tempo",
    "duration": "duration",
    "song_hotttnesss": "song_hotttnesss",
    "hotttnesss": "song_hotttnesss",
    "artist_hotttnesss": "artist_hotttnesss",
    "artist_familiarity": "artist_familiarity",
}
_LISTED_PER_FAMILY = 30


@dataclass(frozen=True)
class DerivedTask:
    """A task's labels with its missing-value accounting."""

    spec: TaskSpec
    labels: np.ndarray
    n_uncovered: int  # rows no source lists
    n_source_missing: int  # rows a source lists with a missing value (NaN, year 0, no terms)
    n_inf: int


def _tuple_values(labels: LabelColumns, column: str) -> list[str]:
    if column not in labels.values:
        return []
    counts: dict[str, int] = {}
    for value in labels.values[column]:
        if isinstance(value, tuple):
            for item in value:
                counts[item] = counts.get(item, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))


def _genres(labels: LabelColumns) -> list[str]:
    if "genre_majority" not in labels.values:
        return []
    series = labels.values["genre_majority"]
    return sorted({str(v) for v in series[~missing_values(series)]})


def available_tasks(labels: LabelColumns) -> dict[str, str]:
    """Every task name the collected labels support, with its default kind."""
    tasks: dict[str, str] = {}
    for name, column in REGRESSION_TASKS.items():
        if column in labels.values:
            tasks[name] = "regression"
    genres = _genres(labels)
    if len(genres) >= 3:
        tasks["genre"] = "multiclass"
    tasks |= {f"genre:{g}": "binary" for g in genres}
    tasks |= {f"term:{t}": "binary" for t in _tuple_values(labels, "artist_terms")}
    tasks |= {f"mbtag:{t}": "binary" for t in _tuple_values(labels, "artist_mbtags")}
    tasks |= {c: "regression" for c in labels.values.columns if c.startswith("col:")}
    return tasks


def describe_tasks(names: Sequence[str]) -> str:
    """The task names, with the long ``term:``/``mbtag:`` families cut to their most frequent."""
    shown: list[str] = []
    families: dict[str, int] = {}
    for name in names:
        family = name.split(":", 1)[0] + ":" if name.startswith(("term:", "mbtag:")) else None
        if family is not None:
            families[family] = families.get(family, 0) + 1
            if families[family] > _LISTED_PER_FAMILY:
                continue
        shown.append(name)
    more = [
        f"{n - _LISTED_PER_FAMILY} more {f}<...> tasks" for f, n in families.items() if n > _LISTED_PER_FAMILY
    ]
    return ", ".join(shown + more) if shown or more else "(none: no label source configured)"


def _classes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class index per row (NaN if missing) over the sorted distinct values, and their names."""
    missing = missing_values(values)
    present = values[~missing]
    distinct = sorted(set(present))
    index = {v: i for i, v in enumerate(distinct)}
    out = np.full(len(values), np.nan)
    out[~missing] = [index[v] for v in present]
    return out, tuple(f"{v:g}" if isinstance(v, float | np.floating) else str(v) for v in distinct)


def _checked_kind(name: str, kind: str | None, available: Mapping[str, str]) -> str:
    """The task's kind: ``kind`` if given (only ``col:`` tasks may differ from the default)."""
    if name not in available:
        raise ValueError(f"unknown task {name!r}; available tasks: {describe_tasks(list(available))}")
    default = available[name]
    kind = kind or default
    if kind not in TASK_KINDS:
        raise ValueError(f"task {name!r}: kind {kind!r} is not one of {', '.join(TASK_KINDS)}")
    if kind != default and not name.startswith("col:"):
        raise ValueError(f"task {name!r} is {default}; it cannot be declared {kind}")
    return kind


def _regression_values(name: str, column: str, series: pd.Series) -> np.ndarray:
    """A numeric column's values; a column of text fails, suggesting a classification kind."""
    if series.dtype.kind not in "fiub":
        bad = series[~missing_values(series)]
        raise ValueError(
            f"task {name!r}: column {column!r} holds non-numeric values (e.g. {bad.iloc[0]!r} for track "
            f"{bad.index[0]}); declare it binary or multiclass"
        )
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _column_classes(name: str, kind: str, series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """A generic column declared binary or multiclass: class indices and names (none for 0/1)."""
    values, classes = _classes(series)
    if kind == "binary" and len(classes) != 2:
        raise ValueError(
            f"task {name!r}: a binary column needs exactly 2 distinct values, found {list(classes)}"
        )
    if kind == "multiclass" and len(classes) < 3:
        raise ValueError(
            f"task {name!r}: a multiclass column needs at least 3 distinct values, found {list(classes)}"
        )
    if kind == "binary" and classes == ("0", "1"):
        classes = ()
    return values, classes


def _genre_values(name: str, series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """``genre``: the majority genre's class index; ``genre:<Name>``: 1 for Name, 0 for another."""
    values, genres = _classes(series)
    if name == "genre":
        return values, genres
    target = genres.index(name.split(":", 1)[1])
    return np.where(np.isnan(values), np.nan, (values == target).astype(float)), ()


def _tag_values(item: str, series: pd.Series) -> np.ndarray:
    """1 where the artist's terms (or tags) hold ``item``, 0 where they do not, NaN if unknown."""
    missing = missing_values(series)
    values = np.full(len(series), np.nan)
    values[~missing] = [float(item in v) for v in series[~missing]]
    return values


def derive_task(
    name: str, kind: str | None, labels: LabelColumns, available: Mapping[str, str]
) -> DerivedTask:
    """One task's float64 labels (NaN = missing; class index for classification)."""
    kind = _checked_kind(name, kind, available)
    classes: tuple[str, ...] = ()
    if name in REGRESSION_TASKS or (name.startswith("col:") and kind == "regression"):
        column = REGRESSION_TASKS.get(name, name)
        values = _regression_values(name, column, labels.values[column])
    elif name.startswith("col:"):
        column = name
        values, classes = _column_classes(name, kind, labels.values[column])
    elif name == "genre" or name.startswith("genre:"):
        column = "genre_majority"
        values, classes = _genre_values(name, labels.values[column])
    else:
        family, item = name.split(":", 1)
        column = {"term": "artist_terms", "mbtag": "artist_mbtags"}[family]
        values = _tag_values(item, labels.values[column])
    values = np.where(np.isfinite(values), values, np.nan)
    covered = labels.covered[column]
    missing_rows = np.isnan(values)
    return DerivedTask(
        spec=TaskSpec(name=name, kind=kind, classes=classes),  # type: ignore[arg-type]
        labels=values,
        n_uncovered=int(np.count_nonzero(missing_rows & ~covered)),
        n_source_missing=int(np.count_nonzero(missing_rows & covered)),
        n_inf=labels.n_inf.get(column, 0),
    )


def requested_tasks(cfg: Mapping[str, Any], extra: Sequence[str] = ()) -> dict[str, str | None]:
    """Task name -> declared kind (None: the default) from ``data.msd.tasks`` plus ``extra`` names."""
    raw = cfg.get("tasks") or {}
    if isinstance(raw, Mapping):
        tasks: dict[str, str | None] = {}
        for name, spec in raw.items():
            if spec is not None and not isinstance(spec, Mapping):
                raise ValueError(
                    f"data.msd.tasks.{name}: expected a mapping like {{kind: binary}}, got {spec!r}"
                )
            extra_keys = set(spec or {}) - {"kind"}
            if extra_keys:
                raise ValueError(
                    f"data.msd.tasks.{name}: unknown key(s) {', '.join(sorted(extra_keys))}; only kind"
                )
            tasks[str(name)] = (spec or {}).get("kind")
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        tasks = {str(name): None for name in raw}
    else:
        raise ValueError(f"data.msd.tasks: expected a list of task names or a mapping, got {raw!r}")
    for name in extra:
        tasks.setdefault(name, None)
    if not tasks:
        raise ValueError("data.msd.tasks: no task requested")
    return tasks
