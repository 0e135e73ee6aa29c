"""The MSD label sources joined onto the lyric rows (:func:`collect_labels`).

Each configured source is read, aligned with the lyric tracks on the MSD track id (the musiXmatch
year file on the musiXmatch id) and merged column by column: the first non-missing value wins, in
the order of :data:`SOURCE_ORDER` (see :mod:`mtrl.data.msd`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtrl.data.msd_h5 import read_summary_h5, read_track_h5
from mtrl.data.msd_sqlite import read_artist_terms_db, read_track_metadata_db
from mtrl.data.msd_text import read_label_table, read_tagtraum, read_year_by_mxm
from mtrl.data.mxm import MxmLyrics

log = logging.getLogger("mtrl.data.msd")  # the MSD source logs under one name

SOURCE_ORDER: tuple[str, ...] = (
    "track_h5",
    "summary_h5",
    "track_metadata_db",
    "artist_term_db",
    "year_by_mxm",
    "tagtraum",
    "tables",
)


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
            old_missing = missing_values(old)
            both = ~old_missing & ~missing_values(new)
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


def missing_values(series: pd.Series) -> np.ndarray:
    """Which values are missing: NaN/None, and empty tuples (terms or tags nobody recorded)."""
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
    """Read every configured label source and align it with the lyric rows (see :mod:`mtrl.data.msd`)."""
    ids = lyrics.track_ids
    labels = LabelColumns(values=pd.DataFrame(index=pd.Index(ids, dtype=object, name="track_id")))

    def add(source: str, frame: pd.DataFrame, keys: np.ndarray = ids) -> None:
        aligned, present = _aligned(frame, keys, source)
        aligned.index = labels.values.index
        labels.add(source, aligned, present)

    if (path := _path(cfg, "track_h5")) is not None:
        add("track_h5", read_track_h5(path))
    if (path := _path(cfg, "summary_h5")) is not None:
        add("summary_h5", read_summary_h5(path))
    if (path := _path(cfg, "track_metadata_db")) is not None:
        meta = read_track_metadata_db(path)
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
        artist_ids = labels.values["artist_id"].where(~missing_values(labels.values["artist_id"]), None)
        terms = read_artist_terms_db(path, artist_ids)
        labels.add(
            "artist_term_db", terms, ~missing_values(artist_ids) & ~terms["artist_terms"].isna().to_numpy()
        )
    if (path := _path(cfg, "year_by_mxm")) is not None:
        add("year_by_mxm", read_year_by_mxm(path), keys=lyrics.mxm_ids)
    if (path := _path(cfg, "tagtraum")) is not None:
        add("tagtraum", read_tagtraum(path))
    for k, table in enumerate(cfg.get("tables") or ()):
        if "path" not in table or "id_column" not in table:
            raise ValueError(f"data.msd.tables[{k}]: needs path and id_column, got {dict(table)}")
        frame = read_label_table(table["path"], table["id_column"], table.get("sep"))
        add(f"table {table['path']}", frame.rename(columns=lambda c: f"col:{c}"))
    return labels
