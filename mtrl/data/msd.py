"""The Million Song Dataset source: musiXmatch lyrics joined with MSD labels (``data.msd``).

Rows are the lyric tracks (files in order); every label source is joined on the MSD track id
(the musiXmatch year file on the musiXmatch id), and labels are NaN where a source lacks the track.
When several sources give the same column, the first non-missing value wins, in the order of
:data:`SOURCE_ORDER`: ``track_h5``, ``summary_h5``, ``track_metadata_db``, ``artist_term_db``,
``year_by_mxm``, then the generic ``tables`` in listed order (disagreements are logged).

:func:`load_msd` checks the config and assembles the :class:`~mtrl.data.dataset.Dataset`. The
readers of the label files are in :mod:`mtrl.data.msd_labels`; the join (:mod:`mtrl.data.msd_join`)
and the task derivation (:mod:`mtrl.data.msd_tasks`) are re-exported here.

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
from pathlib import Path
from typing import Any

import numpy as np

from mtrl.data.dataset import Dataset
from mtrl.data.msd_join import SOURCE_ORDER, LabelColumns, collect_labels
from mtrl.data.msd_tasks import (
    REGRESSION_TASKS,
    DerivedTask,
    available_tasks,
    derive_task,
    describe_tasks,
    requested_tasks,
)
from mtrl.data.mxm import read_mxm

__all__ = [
    "CONFIG_KEYS",
    "REGRESSION_TASKS",
    "SOURCE_ORDER",
    "DerivedTask",
    "LabelColumns",
    "available_tasks",
    "collect_labels",
    "derive_task",
    "describe_tasks",
    "load_msd",
    "requested_tasks",
]

log = logging.getLogger(__name__)

CONFIG_KEYS: tuple[str, ...] = ("lyrics", *SOURCE_ORDER, "tasks", "min_labelled")


def _lyric_paths(cfg: Mapping[str, Any]) -> list[Path]:
    """The ``lyrics`` file(s) of ``cfg``: one path or a list, at least one."""
    lyric_paths = cfg.get("lyrics")
    if isinstance(lyric_paths, str | os.PathLike):
        lyric_paths = [lyric_paths]
    if not lyric_paths:
        raise ValueError("data.msd.lyrics: give at least one musiXmatch lyrics file")
    return [Path(os.fspath(p)) for p in lyric_paths]


def _check_labelled(d: DerivedTask, min_labelled: int) -> None:
    """Log how many rows of the task carry a label, and why the others lack one; fail if too few."""
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


def load_msd(cfg: Mapping[str, Any], tasks: Sequence[str] = ()) -> Dataset:
    """The lyric corpus with the requested tasks' labels (``cfg``: the ``data.msd`` mapping).

    ``tasks`` adds task names (default kinds) to those of ``cfg["tasks"]``. Raises ValueError for an
    unknown task (listing the available ones), a task with fewer than ``min_labelled`` (default 1)
    labelled rows, or a binary task with a single class.
    """
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"data.msd: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(CONFIG_KEYS)}")
    lyric_paths = _lyric_paths(cfg)
    min_labelled = int(cfg.get("min_labelled", 1))
    if min_labelled < 1:
        raise ValueError(f"data.msd.min_labelled: {min_labelled} must be at least 1")
    wanted = requested_tasks(cfg, tasks)
    lyrics = read_mxm(lyric_paths)
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
        _check_labelled(d, min_labelled)
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
