"""findings.metric: the primary metric resolved per target kind, checked in the config and the tables."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from test_config import MINIMAL

from mtrl.config import ConfigError, check_config, with_defaults
from mtrl.metric_names import AUTO_METRIC, METRIC_NAMES, METRICS_OF_KIND, metric_reason
from mtrl.metrics import metric_names
from mtrl.schema import SCHEMA_PATH
from mtrl.tasks import TaskSpec, metric_choice, primary_metric


def _table(kind: str | None, metrics=None) -> pd.DataFrame:
    """runs.csv-like rows of target ``t`` (with ``task_kind`` unless ``kind`` is None) and task ``a``."""
    metrics = metrics or METRICS_OF_KIND[kind or "binary"]
    rows = [{"task": "t", "metric": m, "value": 0.5} for m in metrics]
    rows += [{"task": "a", "metric": m, "value": 0.5} for m in METRICS_OF_KIND["regression"]]
    table = pd.DataFrame(rows)
    if kind is not None:
        table["task_kind"] = [kind] * len(metrics) + ["regression"] * 3
    return table


@pytest.mark.parametrize(
    ("kind", "expected"), [("binary", "roc_auc"), ("multiclass", "log_loss"), ("regression", "rmse")]
)
def test_auto_picks_by_the_targets_kind(kind, expected):
    assert AUTO_METRIC[kind] == expected
    assert primary_metric(_table(kind), "t") == expected
    assert primary_metric(_table(kind), "t", "auto") == expected


def test_a_named_metric_of_the_targets_kind_is_used():
    assert primary_metric(_table("binary"), "t", "error") == "error"
    assert primary_metric(_table("multiclass"), "t", "balanced_accuracy") == "balanced_accuracy"
    assert primary_metric(_table("regression"), "t", "mae") == "mae"


def test_a_metric_the_targets_kind_lacks_is_refused_with_the_allowed_names():
    with pytest.raises(
        ValueError, match=r"findings\.metric = 'rmse' is not a metric of a binary target; use"
    ):
        primary_metric(_table("binary"), "t", "rmse")
    with pytest.raises(ValueError, match="one of rmse, mae, r2"):
        primary_metric(_table("regression"), "t", "roc_auc")
    with pytest.raises(ValueError, match="'auc' is not a metric"):
        primary_metric(_table("binary"), "t", "auc")


def test_a_metric_missing_from_the_table_is_named():
    with pytest.raises(ValueError, match="no 'roc_auc' values of target 't'"):
        primary_metric(_table("binary", ["error", "accuracy"]), "t")


def test_tables_without_task_kinds_keep_error_and_rmse():
    """Hand-made tables and runs.csv written before task_kind: error (classification) or RMSE."""
    assert primary_metric(_table(None), "t") == "error"
    assert primary_metric(_table(None, METRICS_OF_KIND["regression"]), "t") == "rmse"
    assert primary_metric(_table(None), "t", "roc_auc") == "roc_auc"


def test_the_reason_says_which_metric_and_why():
    metric, reason = metric_choice(_table("binary"), "t")
    assert metric == "roc_auc"
    assert reason == (
        "ROC-AUC: the target is binary; error cannot see learning when runs predict the majority class"
    )
    assert metric_choice(_table("binary"), "t", "error")[1] == "error: set by findings.metric"
    assert metric_choice(_table("regression"), "t")[1] == "RMSE: the target is a regression task"
    assert metric_reason("error", "auto", None) == "error: the runs table does not record the target's kind"


def test_metric_names_follow_the_computed_metrics():
    for kind, names in METRICS_OF_KIND.items():
        classes = ("x", "y", "z") if kind == "multiclass" else ()
        assert metric_names(TaskSpec("t", kind, classes)) == names
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    enum = schema["properties"]["findings"]["properties"]["metric"]["enum"]
    assert enum == ["auto", *METRIC_NAMES]


def _config(**findings) -> dict:
    return with_defaults({**MINIMAL, "findings": findings})


def test_the_config_checks_the_metric_against_the_targets_kind():
    check_config(_config(metric="log_loss"))  # the synthetic target t is binary
    with pytest.raises(ConfigError, match=r"^findings.metric = 'rmse' is not a metric of a binary target"):
        check_config(_config(metric="rmse"))
    with pytest.raises(ConfigError, match=r"^findings.metric: 'auc' is not one of \['auto', 'accuracy'"):
        _config(metric="auc")


def test_real_data_targets_are_checked_when_their_kind_is_declared():
    msd = {"source": "msd", "split": MINIMAL["data"]["split"], "msd": {"lyrics": ["x.txt"]}}
    config = with_defaults({**MINIMAL, "data": msd, "findings": {"metric": "rmse"}})
    check_config(config)  # the kind of t is known only once the data are prepared
    config["data"]["msd"]["tasks"] = {"t": {"kind": "multiclass"}}
    with pytest.raises(ConfigError, match="not a metric of a multiclass target"):
        check_config(config)
