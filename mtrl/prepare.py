"""Build the prepared-data file from the configured data source (no Keras)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtrl.data.dataset import Dataset, make_split
from mtrl.data.plan import check_plan, notes, plan_study
from mtrl.data.prepared import PreparedData, write_prepared

log = logging.getLogger(__name__)


def load_source(data_config: Mapping[str, Any], tasks: Sequence[str] = ()) -> Dataset:
    """The labelled corpus of ``data.source`` with (at least) the study's ``tasks``."""
    source = data_config["source"]
    if source == "synthetic":
        from mtrl.data.synthetic import generate

        return generate(**dict(data_config["synthetic"]))
    if source == "msd":
        from mtrl.data.msd import load_msd

        return load_msd(data_config["msd"], tasks=tasks)
    raise ValueError(f"data.source: unknown source {source!r}; available: synthetic, msd")


def prepare_data(
    data_config: Mapping[str, Any],
    tasks: Sequence[str],
    target: str,
    train_sizes: Sequence[int],
    output: str | os.PathLike,
    auxiliary_from_target_rows: bool = False,
) -> None:
    """Load the source, keep the study's tasks, split and write ``output``.

    Fails before writing anything if a task is missing or the data cannot serve the study
    (:func:`mtrl.data.plan.check_plan`: e.g. a training size exceeds the number of training rows that
    carry a target label); logs the cells of the plan that are capped or left out of the statistics.
    ``auxiliary_from_target_rows``: see :func:`~mtrl.data.plan.check_plan`.
    """
    dataset = load_source(data_config, tasks)
    available = [t.name for t in dataset.tasks]
    for task in tasks:
        if task not in available:
            raise ValueError(f"unknown task {task!r}; available tasks: {', '.join(available)}")
    dataset = Dataset(
        features=dataset.features,
        labels={t: dataset.labels[t] for t in tasks},
        tasks=[dataset.task(t) for t in tasks],
        ids=dataset.ids,
        vocabulary=dataset.vocabulary,
    )
    split_cfg = data_config["split"]
    split = make_split(
        dataset.n_rows,
        split_cfg["val_fraction"],
        split_cfg["test_fraction"],
        split_cfg["seed"],
        stratify=dataset.labels[target],
    )
    cells = plan_study(PreparedData(dataset, split, {}), tasks, target, train_sizes)
    check_plan(cells, target, auxiliary_from_target_rows)
    for task in dataset.tasks:
        y = dataset.labels[task.name]
        counts = {s: int(np.count_nonzero(~np.isnan(y[split[s]]))) for s in ("train", "val", "test")}
        log.info("task %s (%s): labelled rows per split %s", task.name, task.kind, counts)
    log.info(
        "features: %d rows x %d columns, %.1f non-zeros per row",
        dataset.n_rows,
        dataset.features.shape[1],
        dataset.features.nnz / max(1, dataset.n_rows),
    )
    for note in notes(cells):
        log.warning("study plan: %s", note)
    write_prepared(output, dataset, split, source={"source": data_config["source"]})
