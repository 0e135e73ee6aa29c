"""The prepared-data file: one HDF5 file (h5py) that every training job reads.

Layout::

    /features/{data,indices,indptr}   CSR matrix of float32 word counts (attrs: shape)
    /labels/<task slug>               float64, NaN = missing (class index or value)
    /splits/{train,val,test}          int64 row indices (train in fixed random order)
    /ids                              row identifiers (e.g. MSD track ids)
    /vocabulary                       optional feature names
    attrs: format_version, tasks (JSON), source (JSON)

A file that exists but cannot be read (cut short, overwritten) raises
:class:`CorruptPreparedDataError`, which says to delete it or rerun ``prepare_data``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import h5py
import numpy as np
import scipy.sparse as sp

from mtrl.data.dataset import Dataset, Split
from mtrl.io import atomic_path
from mtrl.tasks import TaskSpec, slug_clash

FORMAT_VERSION = 1
T = TypeVar("T")
REBUILD = "delete it or run with `-R prepare_data`"


class CorruptPreparedDataError(ValueError):
    """A prepared-data file that exists but cannot be read: truncated, overwritten, not HDF5."""


@dataclass
class PreparedData:
    """A prepared data set: the labelled corpus plus its fixed split."""

    dataset: Dataset
    split: Split
    source: dict[str, Any]

    @property
    def tasks(self) -> list[TaskSpec]:
        return self.dataset.tasks

    def rows(self, split: str) -> np.ndarray:
        return self.split[split]

    def labels(self, task: str, rows: np.ndarray) -> np.ndarray:
        return self.dataset.labels[task][rows]


@dataclass
class PreparedLabels:
    """The task labels and the split of a prepared-data file, without its features."""

    tasks: list[TaskSpec]
    label_columns: dict[str, np.ndarray]
    split: Split

    def rows(self, split: str) -> np.ndarray:
        return self.split[split]

    def labels(self, task: str, rows: np.ndarray) -> np.ndarray:
        return self.label_columns[task][rows]


def write_prepared(path: str | os.PathLike, dataset: Dataset, split: Split, source: dict[str, Any]) -> None:
    """Write ``dataset`` and ``split`` to ``path`` atomically.

    Raises ValueError, before writing, if two tasks share a file name (:func:`mtrl.tasks.task_slug`).
    """
    clash = slug_clash(t.name for t in dataset.tasks)
    if clash is not None:
        raise ValueError(f"tasks {clash[0]!r} and {clash[1]!r} share the file name {clash[2]!r}")
    x = sp.csr_matrix(dataset.features, dtype=np.float32)
    x.sort_indices()
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["tasks"] = json.dumps([t.to_dict() for t in dataset.tasks])
        f.attrs["source"] = json.dumps(source)
        g = f.create_group("features")
        g.attrs["shape"] = x.shape
        g.create_dataset("data", data=x.data, compression="gzip", compression_opts=1)
        g.create_dataset("indices", data=x.indices.astype(np.int32), compression="gzip", compression_opts=1)
        g.create_dataset("indptr", data=x.indptr.astype(np.int64))
        lab = f.create_group("labels")
        for task in dataset.tasks:
            lab.create_dataset(task.slug, data=np.asarray(dataset.labels[task.name], dtype=np.float64))
        s = f.create_group("splits")
        for name in ("train", "val", "test"):
            s.create_dataset(name, data=split[name].astype(np.int64))
        f.create_dataset("ids", data=np.asarray(dataset.ids, dtype=object), dtype=h5py.string_dtype())
        if dataset.vocabulary is not None:
            f.create_dataset(
                "vocabulary", data=np.asarray(dataset.vocabulary, dtype=object), dtype=h5py.string_dtype()
            )


def read_prepared(path: str | os.PathLike) -> PreparedData:
    """Read a prepared-data file written by :func:`write_prepared`.

    Raises FileNotFoundError if it is missing, ValueError if it has another format version, and
    :class:`CorruptPreparedDataError` if it cannot be read.
    """
    return _read_file(path, _read)


def read_prepared_labels(path: str | os.PathLike) -> PreparedLabels:
    """The task labels and the split of a prepared-data file, without its (large) features; raises as
    :func:`read_prepared` does."""
    return _read_file(path, _read_labels)


def _read_file(path: str | os.PathLike, reader: Callable[[h5py.File], T]) -> T:
    """``reader`` on the open file at ``path``, once its format version is checked."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: prepared-data file not found; run the prepare_data rule")
    try:
        with h5py.File(name, "r") as f:
            version = int(f.attrs.get("format_version", -1))
            if version == FORMAT_VERSION:
                return reader(f)
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise CorruptPreparedDataError(f"{name}: corrupt prepared-data file ({err}); {REBUILD}") from err
    raise ValueError(
        f"{name!r}: prepared-data format version {version}, expected {FORMAT_VERSION}; "
        "rerun the prepare_data rule"
    )


def _read_labels(f: h5py.File) -> PreparedLabels:
    """The tasks, labels and split of an open prepared-data file."""
    tasks = [TaskSpec.from_dict(d) for d in json.loads(f.attrs["tasks"])]
    labels = {t.name: f["labels"][t.slug][()] for t in tasks}
    split = Split(*(f["splits"][name][()] for name in ("train", "val", "test")))
    return PreparedLabels(tasks=tasks, label_columns=labels, split=split)


def _read(f: h5py.File) -> PreparedData:
    """The groups of an open prepared-data file."""
    part = _read_labels(f)
    g = f["features"]
    x = sp.csr_matrix((g["data"][()], g["indices"][()], g["indptr"][()]), shape=tuple(g.attrs["shape"]))
    ids = np.asarray(f["ids"].asstr()[()], dtype=object)
    vocabulary = list(f["vocabulary"].asstr()[()]) if "vocabulary" in f else None
    source = json.loads(f.attrs["source"])
    dataset = Dataset(features=x, labels=part.label_columns, tasks=part.tasks, ids=ids, vocabulary=vocabulary)
    return PreparedData(dataset=dataset, split=part.split, source=source)
