"""Findings on runs that collapsed to one class, and the primary metric they name (findings.metric)."""

from __future__ import annotations

import pandas as pd
import pytest

from mtrl.findings import write_findings
from mtrl.findings.collapse import collapse_section, collapsed_runs
from study_runs import ALL_GAIN, TARGET, tables

pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")


def _with_predicted_classes(runs, collapsed):
    """``runs`` with ``predicted_classes``: 1 for the target's test rows of the (kind, coupling,
    sharing, n_train, seed) in ``collapsed``, 2 elsewhere; a collapsed run has the baseline's error."""
    key = zip(*(runs[c] for c in ["kind", "coupling", "sharing", "n_train", "seed"]), strict=True)
    hit = pd.Series([k in collapsed for k in key], index=runs.index) & (runs["task"] == TARGET)
    out = runs.assign(predicted_classes=hit.map({True: 1, False: 2}).astype("Int64"))
    error = hit & (out["metric"] == "error")
    out.loc[error, "value"] = out.loc[error, "baseline"]
    return out


def test_settings_with_collapsed_runs_are_listed_with_their_counts():
    runs = _with_predicted_classes(
        ALL_GAIN,
        {("single", "single", "none", 100, 1), ("single", "single", "none", 100, 3)}
        | {("multitask", "loose", "low", 400, 2)},
    )
    counts = collapsed_runs(runs, TARGET).set_index(["kind", "coupling", "n_train"])
    single = counts.loc[("single", "single", 100)]
    assert single[["n_runs", "n_collapsed", "n_majority"]].tolist() == [3, 2, 2]
    assert counts["n_collapsed"].sum() == 3
    text = collapse_section(runs, TARGET, couplings=["tight", "loose"])
    assert text.startswith("**Collapsed runs.** In these settings some runs predict a single class of `t`")
    assert text.splitlines()[1:] == [
        "- single-task / n = 100: collapsed to the majority class in 2 of 3 runs.",
        "- `loose` / `low` / n = 400: collapsed to the majority class in 1 of 3 runs.",
    ]
    findings = write_findings(*tables(runs), TARGET, couplings=["tight", "loose"])
    assert "\n\n**Collapsed runs.**" in findings
    assert "collapsed to the majority class in 2 of 3 runs" in findings


def test_a_single_class_other_than_the_majority_is_told_apart():
    runs = _with_predicted_classes(ALL_GAIN, {("single", "single", "none", 400, 1)})
    runs.loc[(runs["predicted_classes"] == 1) & (runs["metric"] == "error"), "value"] = 0.5 + 0.2
    text = collapse_section(runs, TARGET)
    expected = "- single-task / n = 400: predicted a single class in 1 of 3 runs (the majority class in 0)."
    assert expected in text


def test_nothing_is_said_where_no_run_collapsed():
    assert collapse_section(_with_predicted_classes(ALL_GAIN, set()), TARGET) == ""
    assert collapse_section(ALL_GAIN, TARGET) == ""  # a table without predicted_classes
    assert "Collapsed" not in write_findings(*tables(_with_predicted_classes(ALL_GAIN, set())), TARGET)


def test_the_header_names_the_primary_metric_and_why():
    # the fixture's accuracy rows as ROC-AUC of a binary target: auto judges by them
    runs = ALL_GAIN.assign(task_kind="binary", metric=ALL_GAIN["metric"].replace({"accuracy": "roc_auc"}))
    text = write_findings(*tables(runs), TARGET)
    assert (
        "Primary metric: **roc_auc** on the test split (higher is better). ROC-AUC: the target is binary; "
        "error cannot see learning when runs predict the majority class. A gain is" in text
    )
    assert "roc_auc 0.755 multi-task vs 0.7 single-task" in text
    chosen = write_findings(*tables(runs), TARGET, metric="error")
    expected = "Primary metric: **error** on the test split (lower is better). error: set by findings.metric."
    assert expected in chosen
    with pytest.raises(ValueError, match=r"findings\.metric = 'rmse'"):
        write_findings(*tables(runs), TARGET, metric="rmse")
