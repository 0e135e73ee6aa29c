"""The Million Song Dataset source: musiXmatch lyrics joined with MSD labels (``data.msd``).

Rows are the lyric tracks (files in order); every label source is joined on the MSD track id
(the musiXmatch year file on the musiXmatch id), and labels are NaN where a source lacks the track.
When several sources give the same column, the first non-missing value wins, in the order of
:data:`SOURCE_ORDER`: ``track_h5``, ``summary_h5``, ``track_metadata_db``, ``artist_term_db``,
``year_by_mxm``, then the generic ``tables`` in listed order (disagreements are logged).

Task names:

- ``genre`` (multiclass over the tagtraum majority genres, classes sorted) and ``genre:<Name>``
  (binary: 1 if the majority genre is Name, 0 for another tagtraum genre, NaN if not in tagtraum);
- ``term:<term>`` / ``mbtag:<tag>`` (binary: the artist carries the Echo Nest term / MusicBrainz
  tag; NaN where the artist's terms / tags are unknown or empty);
- regression: ``loudness``, ``year``, ``tempo``, ``duration``, ``song_hotttnesss`` (alias
  ``hotttnesss``), ``artist_hotttnesss``, ``artist_familiarity``;
- ``col:<column>``: a column of a generic table (regression unless declared binary/multiclass;
  classes are its distinct values, sorted).

NaN and ±inf values are missing; every task logs how many rows lack a label and why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtrl.data import msd_labels
from mtrl.data.dataset import Dataset
from mtrl.data.mxm import MxmLyrics, read_mxm
from mtrl.tasks import TASK_KINDS, TaskSpec

log = logging.getLogger(__name__)

SOURCE_ORDER: tuple[str, ...] = (
    "track_h5",
    "summary_h5",
    "track_metadata_db",
    "artist_term_db",
    "year_by_mxm",
    "tagtraum",
    "tables",
)
CONFIG_KEYS: tuple[str, ...] = ("lyrics", *SOURCE_ORDER, "tasks", "min_labelled")
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


@dataclass
class LabelColumns:
    """Label columns aligned with the lyric rows, with where each came from.

    ``values`` holds one column per label (generic-table columns as ``col:<name>``); ``covered``
    marks, per column, the rows some source lists (a NaN there is a missing value in the source,
    elsewhere the track is absent from every source); ``n_inf`` counts ±inf values turned to NaN.
    """

    values: pd.DataFrame
    covered: dict[str, np.ndarray] = field(default_factory=dict)
    n_inf: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, frame: pd.DataFrame, present: np.ndarray) -> None:
        """Merge ``frame`` (aligned with the rows; ``present``: rows the source lists)."""
        for column in frame.columns:
            new = frame[column]
            if new.dtype.kind == "f":
                inf = np.isinf(new.to_numpy())
                if inf.any():
                    self.n_inf[column] = self.n_inf.get(column, 0) + int(inf.sum())
                    new = new.mask(inf)
            if column not in self.values:
                self.values[column] = new
                self.covered[column] = present.copy()
                continue
            old = self.values[column]
            old_missing = _missing(old)
            both = ~old_missing & ~_missing(new)
            differ = both & ~_equal(old, new)
            if differ.any():
                row = int(np.flatnonzero(differ)[0])
                log.info(
                    "%s: %d of %d tracks with both values disagree with earlier sources; kept the earlier "
                    "value (e.g. %s: %s vs %s from %s)",
                    column, int(differ.sum()), int(both.sum()), self.values.index[row],
                    _show(old.iloc[row]), _show(new.iloc[row]), source,
                )  # fmt: skip
            self.values[column] = old.where(~old_missing, new)
            self.covered[column] = self.covered[column] | present


def _missing(series: pd.Series) -> np.ndarray:
    """NaN/None, and empty tuples (terms or tags nobody recorded)."""
    if series.dtype.kind == "O":
        return np.fromiter(
            (
                v is None or (isinstance(v, tuple) and not v) or (np.isscalar(v) and pd.isna(v))
                for v in series
            ),
            dtype=bool,
            count=len(series),
        )
    return series.isna().to_numpy()


def _equal(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Equal values (numbers up to rounding, term tuples as sets)."""
    if a.dtype.kind in "fiu" and b.dtype.kind in "fiu":
        return np.isclose(
            a.to_numpy(np.float64), b.to_numpy(np.float64), rtol=1e-6, atol=1e-9, equal_nan=True
        )
    same = (
        set(x) == set(y) if isinstance(x, tuple) and isinstance(y, tuple) else x == y
        for x, y in zip(a, b, strict=True)
    )
    return np.fromiter(same, dtype=bool, count=len(a))


def _show(value: object) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else repr(value)


def _path(cfg: Mapping[str, Any], key: str) -> Path | None:
    value = cfg.get(key)
    return None if value is None else Path(os.fspath(value))


def _aligned(frame: pd.DataFrame, keys: np.ndarray, source: str) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame`` reindexed onto ``keys`` (one row per lyric track), and which keys it lists."""
    positions = frame.index.get_indexer(pd.Index(keys, dtype=object))
    present = positions >= 0
    out = frame.reindex(pd.Index(keys, dtype=object))
    log.info("%s: %d rows, %d of %d lyric tracks matched", source, len(frame), int(present.sum()), len(keys))
    return out, present


def collect_labels(cfg: Mapping[str, Any], lyrics: MxmLyrics) -> LabelColumns:
    """Read every configured label source and align it with the lyric rows (see the module doc)."""
    ids = lyrics.track_ids
    labels = LabelColumns(values=pd.DataFrame(index=pd.Index(ids, dtype=object, name="track_id")))

    def add(source: str, frame: pd.DataFrame, keys: np.ndarray = ids) -> None:
        aligned, present = _aligned(frame, keys, source)
        aligned.index = labels.values.index
        labels.add(source, aligned, present)

    if (path := _path(cfg, "track_h5")) is not None:
        add("track_h5", msd_labels.read_track_h5(path))
    if (path := _path(cfg, "summary_h5")) is not None:
        add("summary_h5", msd_labels.read_summary_h5(path))
    if (path := _path(cfg, "track_metadata_db")) is not None:
        meta = msd_labels.read_track_metadata_db(path)
        add(
            "track_metadata_db",
            meta[["artist_id", "duration", "artist_familiarity", "artist_hotttnesss", "year"]],
        )
    if (path := _path(cfg, "artist_term_db")) is not None:
        if "artist_id" not in labels.values:
            raise ValueError(
                "data.msd.artist_term_db needs each track's artist id: also give track_metadata_db, "
                "summary_h5 or track_h5"
            )
        artist_ids = labels.values["artist_id"].where(~_missing(labels.values["artist_id"]), None)
        terms = msd_labels.read_artist_terms_db(path, artist_ids)
        labels.add("artist_term_db", terms, ~_missing(artist_ids) & ~terms["artist_terms"].isna().to_numpy())
    if (path := _path(cfg, "year_by_mxm")) is not None:
        add("year_by_mxm", msd_labels.read_year_by_mxm(path), keys=lyrics.mxm_ids)
    if (path := _path(cfg, "tagtraum")) is not None:
        add("tagtraum", msd_labels.read_tagtraum(path))
    for k, table in enumerate(cfg.get("tables") or ()):
        if "path" not in table or "id_column" not in table:
            raise ValueError(f"data.msd.tables[{k}]: needs path and id_column, got {dict(table)}")
        frame = msd_labels.read_label_table(table["path"], table["id_column"], table.get("sep"))
        add(f"table {table['path']}", frame.rename(columns=lambda c: f"col:{c}"))
    return labels


# --- tasks --------------------------------------------------------------------------------------


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
    return sorted({str(v) for v in series[~_missing(series)]})


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
    missing = _missing(values)
    present = values[~missing]
    distinct = sorted(set(present))
    index = {v: i for i, v in enumerate(distinct)}
    out = np.full(len(values), np.nan)
    out[~missing] = [index[v] for v in present]
    return out, tuple(f"{v:g}" if isinstance(v, float | np.floating) else str(v) for v in distinct)


def derive_task(
    name: str, kind: str | None, labels: LabelColumns, available: Mapping[str, str]
) -> DerivedTask:
    """One task's float64 labels (NaN = missing; class index for classification)."""
    if name not in available:
        raise ValueError(f"unknown task {name!r}; available tasks: {describe_tasks(list(available))}")
    default = available[name]
    kind = kind or default
    if kind not in TASK_KINDS:
        raise ValueError(f"task {name!r}: kind {kind!r} is not one of {', '.join(TASK_KINDS)}")
    if kind != default and not name.startswith("col:"):
        raise ValueError(f"task {name!r} is {default}; it cannot be declared {kind}")
    classes: tuple[str, ...] = ()
    if name in REGRESSION_TASKS or (name.startswith("col:") and kind == "regression"):
        column = REGRESSION_TASKS.get(name, name)
        series = labels.values[column]
        if series.dtype.kind not in "fiub":
            bad = series[~_missing(series)]
            raise ValueError(
                f"task {name!r}: column {column!r} holds non-numeric values (e.g. {bad.iloc[0]!r} for track "
                f"{bad.index[0]}); declare it binary or multiclass"
            )
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif name.startswith("col:"):
        column = name
        values, classes = _classes(labels.values[column])
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
    elif name == "genre" or name.startswith("genre:"):
        column = "genre_majority"
        values, genres = _classes(labels.values[column])
        if name == "genre":
            classes = genres
        else:
            values = np.where(
                np.isnan(values), np.nan, (values == genres.index(name.split(":", 1)[1])).astype(float)
            )
    else:
        family, item = name.split(":", 1)
        column = {"term": "artist_terms", "mbtag": "artist_mbtags"}[family]
        series = labels.values[column]
        missing = _missing(series)
        values = np.full(len(series), np.nan)
        values[~missing] = [float(item in v) for v in series[~missing]]
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


def load_msd(cfg: Mapping[str, Any], tasks: Sequence[str] = ()) -> Dataset:
    """The lyric corpus with the requested tasks' labels (``cfg``: the ``data.msd`` mapping).

    ``tasks`` adds task names (default kinds) to those of ``cfg["tasks"]``. Raises ValueError for an
    unknown task (listing the available ones), a task with fewer than ``min_labelled`` (default 1)
    labelled rows, or a binary task with a single class.
    """
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"data.msd: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CONFIG_KEYS)}")
    lyric_paths = cfg.get("lyrics")
    if isinstance(lyric_paths, str | os.PathLike):
        lyric_paths = [lyric_paths]
    if not lyric_paths:
        raise ValueError("data.msd.lyrics: give at least one musiXmatch lyrics file")
    min_labelled = int(cfg.get("min_labelled", 1))
    if min_labelled < 1:
        raise ValueError(f"data.msd.min_labelled: {min_labelled} must be at least 1")
    wanted = requested_tasks(cfg, tasks)
    lyrics = read_mxm([Path(os.fspath(p)) for p in lyric_paths])
    log.info(
        "lyrics: %d tracks x %d words, %d non-zeros",
        lyrics.n_tracks,
        len(lyrics.vocabulary),
        lyrics.counts.nnz,
    )
    labels = collect_labels(cfg, lyrics)
    available = available_tasks(labels)
    derived = [derive_task(name, kind, labels, available) for name, kind in wanted.items()]
    slugs: dict[str, str] = {}
    for d in derived:
        n_labelled = int(np.count_nonzero(~np.isnan(d.labels)))
        log.info(
            "task %s (%s): %d of %d rows labelled; missing %d (%d tracks in no source, %d missing values in "
            "the sources: NaN, year 0 or no terms; %d ±inf values in the sources treated as missing)",
            d.spec.name, d.spec.kind, n_labelled, len(d.labels), len(d.labels) - n_labelled,
            d.n_uncovered, d.n_source_missing, d.n_inf,
        )  # fmt: skip
        if n_labelled == 0:
            raise ValueError(f"task {d.spec.name!r}: no lyric track carries a label")
        if n_labelled < min_labelled:
            raise ValueError(
                f"task {d.spec.name!r}: {n_labelled} labelled rows, fewer than "
                f"data.msd.min_labelled = {min_labelled}"
            )
        if d.spec.kind == "binary" and len(np.unique(d.labels[~np.isnan(d.labels)])) < 2:
            raise ValueError(f"task {d.spec.name!r}: every labelled row has the same class")
        if d.spec.slug in slugs:
            raise ValueError(
                f"tasks {slugs[d.spec.slug]!r} and {d.spec.name!r} share the file name {d.spec.slug!r}"
            )
        slugs[d.spec.slug] = d.spec.name
    return Dataset(
        features=lyrics.counts,
        labels={d.spec.name: d.labels for d in derived},
        tasks=[d.spec for d in derived],
        ids=lyrics.track_ids,
        vocabulary=lyrics.vocabulary,
    )
