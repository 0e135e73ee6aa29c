"""Tables over runs: tidy metrics, summaries over seeds and the multi-task vs single-task comparison.

Pure pandas: no Keras, so aggregation starts fast.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence

import pandas as pd

from mtrl.kinds import MULTITASK, SINGLE
from mtrl.metric_names import metric_range
from mtrl.numerics import numerics_label
from mtrl.stats.intervals import bounded_mean_interval, paired_difference
from mtrl.stats.pairing import paired_with_single
from mtrl.tasks import higher_is_better

RUN_KEYS = ["kind", "coupling", "sharing", "n_train", "seed"]
NETWORK = "network"  # which network of a seed's single-task baseline (metrics.json, absent = 0)
SUMMARY_KEYS = ["kind", "coupling", "sharing", "n_train", "task", "split", "metric"]


def read_metrics(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Load ``metrics.json`` files, naming the file that cannot be read."""
    docs = []
    for path in paths:
        try:
            with open(path) as f:
                docs.append(json.load(f))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read run metrics {os.fspath(path)!r}: {err}") from err
    return docs


def runs_table(docs: Sequence[dict], target: str) -> pd.DataFrame:
    """One row per run x task x split x metric: the model's value and the trivial baseline's.

    Also the task's kind (``task_kind``), for classification the classes the run predicts on the
    split (``predicted_classes``; 1 = collapsed to one class) and for binary tasks the decision
    ``threshold`` (empty where ``metrics.json`` predates them).
    """
    rows = []
    for doc in docs:
        run, training = doc["run"], doc["training"]
        ident = {**{k: run[k] for k in RUN_KEYS}, NETWORK: int(run.get(NETWORK, 0))}
        for split, per_task in doc["metrics"].items():
            for task, result in per_task.items():
                for metric, value in result["model"].items():
                    rows.append(
                        {
                            **ident,
                            "task": task,
                            "task_kind": result.get("kind"),
                            "is_target": task == target,
                            "split": split,
                            "metric": metric,
                            "value": _num(value),
                            "baseline": _num(result["baseline"].get(metric)),
                            "n_eval": result["n"],
                            "predicted_classes": result.get("predicted_classes"),
                            "threshold": _num(result.get("threshold")),
                            "epochs_trained": training["epochs_trained"],
                            "training_seconds": training["training_seconds"],
                            "backend": run["backend"],
                            "precision": run["precision"],
                            "device": run["device"],
                        }
                    )
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError("no run metrics to tabulate")
    frame["predicted_classes"] = frame["predicted_classes"].astype("Int64")
    mixed = sorted(set(map(numerics_label, frame["backend"], frame["precision"], frame["device"])))
    if len(mixed) > 1:  # e.g. jobs on nodes of two kinds; the pairing refuses mixed pairs
        logging.getLogger("mtrl").warning(
            "the runs mix numerics (backend/precision/device: %s): the comparison refuses a "
            "multi-task run and its single-task partner of different numerics",
            ", ".join(mixed),
        )
    frame = average_networks(frame)
    return frame.sort_values([*RUN_KEYS, "task", "split", "metric"], kind="stable").reset_index(drop=True)


def average_networks(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate: the networks of a seed's single-task baseline
    (``replicates.single_task_networks``) as their mean.

    Rows that share run, task, split and metric but for their ``network`` become one: the mean
    ``value``, ``baseline``, ``epochs_trained`` and ``threshold``, the summed ``training_seconds``,
    and the fewest ``predicted_classes`` of any network (1 when one of them collapsed to one class,
    so that the findings flag the baseline); ``networks`` says how many it averages (1 for every
    other run). The seed stays the unit of replication: the networks of one seed are one baseline
    measured more precisely, not more replicates. A seed whose networks trained with different
    numerics (backend, precision, device) is refused, naming it.
    """
    keys = [*RUN_KEYS, "task", "split", "metric"]
    if frame[NETWORK].max() == 0:
        return frame.drop(columns=NETWORK).assign(networks=1)
    numerics = [c for c in ("backend", "precision", "device") if c in frame]
    mixed = frame.groupby(keys, sort=False, dropna=False)[numerics].nunique(dropna=False).gt(1).any(axis=1)
    if mixed.any():
        where = dict(zip(keys, mixed[mixed].index[0], strict=True))
        task, n_train, seed = where["task"], where["n_train"], where["seed"]
        raise ValueError(
            f"the single-task networks of {task!r}, n_train {n_train}, seed {seed} trained with different "
            f"numerics ({'/'.join(numerics)}): retrain the odd networks in the study's numerics "
            "(numerics.json), on nodes of one kind, before averaging them"
        )
    how = {column: "first" for column in frame.columns if column not in keys}
    how.update(
        value="mean",
        baseline="mean",
        epochs_trained="mean",
        threshold="mean",
        training_seconds="sum",
        predicted_classes="min",
        network="count",
    )
    merged = frame.groupby(keys, sort=False, dropna=False).agg(how).reset_index()
    columns = [c for c in frame.columns if c != NETWORK] + ["networks"]
    return merged.rename(columns={NETWORK: "networks"})[columns]


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def histories_table(docs: Sequence[dict], histories: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Per-epoch histories of every run, with the run's identity columns and ``*_error`` columns.

    Training writes raw histories; the error columns (see :func:`add_error_columns`) are added here,
    and kept as they are in histories that already have them.
    """
    frames = []
    networks = any(doc["run"].get(NETWORK) for doc in docs)
    for doc, history in zip(docs, histories, strict=True):
        frame = add_error_columns(history)
        if networks:  # a seed's single-task networks, told apart
            frame.insert(0, NETWORK, int(doc["run"].get(NETWORK, 0)))
        for key in RUN_KEYS:
            frame.insert(0, key, doc["run"][key])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def summary_table(runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and confidence interval over seeds of each (run setting, task, split, metric).

    The interval stays inside the metric's range (:func:`mtrl.stats.intervals.bounded_mean_interval`:
    a t interval on the logit or log scale, back-transformed). ValueError naming the setting for a
    metric without a known range or a value outside it.
    """
    rows = []
    for key, group in runs.groupby(SUMMARY_KEYS, sort=True):
        setting = dict(zip(SUMMARY_KEYS, key, strict=False))
        try:
            interval = bounded_mean_interval(group["value"], metric_range(setting["metric"]), confidence)
        except ValueError as err:
            where = ", ".join(f"{k} {v}" for k, v in setting.items())
            raise ValueError(f"runs table, {where}: {err}") from err
        rows.append(
            {
                **setting,
                "n_seeds": interval.n,
                "mean": interval.mean,
                "sd": interval.sd,
                "ci_low": interval.ci_low,
                "ci_high": interval.ci_high,
                "baseline_mean": float(group["baseline"].mean()),
            }
        )
    return pd.DataFrame(rows)


def comparison_table(runs: pd.DataFrame, target: str, confidence: float = 0.95) -> pd.DataFrame:
    """Multi-task minus single-task on the target, paired by (size, seed).

    ``gain`` is sign-adjusted so that a positive gain always means multi-task is better (for
    error-like metrics it is single-task minus multi-task). ``relative_gain`` is the gain as a
    fraction of the single-task mean.
    """
    on_target = runs[runs["task"] == target]
    if not ((on_target["kind"] == SINGLE).any() and (on_target["kind"] == MULTITASK).any()):
        raise ValueError(f"comparison needs both multi-task and single-task runs of target {target!r}")
    merged = paired_with_single(on_target)
    rows = []
    for (coupling, sharing, n_train, split, metric), group in merged.groupby(
        ["coupling", "sharing", "n_train", "split", "metric"], sort=True
    ):
        sign = 1.0 if higher_is_better(metric) else -1.0
        diff = paired_difference(
            sign * group["value_mtl"].to_numpy(), sign * group["value_stl"].to_numpy(), confidence
        )
        stl_mean = float(group["value_stl"].mean())
        rows.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                "n_train": n_train,
                "split": split,
                "metric": metric,
                "higher_is_better": higher_is_better(metric),
                "mtl_mean": float(group["value_mtl"].mean()),
                "stl_mean": stl_mean,
                "gain_mean": diff.mean,
                "gain_sd": diff.sd,
                "gain_ci_low": diff.ci_low,
                "gain_ci_high": diff.ci_high,
                "p_value": diff.p_value,
                "n_seeds": diff.n,
                "relative_gain": diff.mean / abs(stl_mean) if stl_mean else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def add_error_columns(history: pd.DataFrame) -> pd.DataFrame:
    """Add ``*_error`` (1 - accuracy) columns for the ``*_accuracy`` columns of a history.

    A history that already has an ``*_error`` column keeps it as it is, so adding twice changes nothing.
    """
    out = history.copy()
    for column in history.columns:
        error = column[: -len("accuracy")] + "error"
        if column.endswith("_accuracy") and error not in history:
            out[error] = 1.0 - history[column]
    return out
