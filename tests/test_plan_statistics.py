"""Cells the study plan excludes leave every statistic, and the findings say why; capped baselines are
named. Hand-made run tables (study_runs.py) with a plan table beside them."""

from __future__ import annotations

import pandas as pd
import pytest

from mtrl.aggregate import comparison_table
from mtrl.data.plan import CAPPED, OK, ONE_CLASS, PLAN_COLUMNS
from mtrl.findings import write_findings
from mtrl.stats.exclusions import excluded, read_plan, without_excluded, without_excluded_sizes
from study_runs import ALL_GAIN, TARGET, tables

pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")

ONE_CLASS_100 = "the training subset of `t` at n = 100 has one class (100 negatives, 0 positives)"


def _plan(*rows: tuple[str, int, str, str]) -> pd.DataFrame:
    """A plan table with the given (task, n_train, status, reason) rows."""
    records = [
        {"task": task, "n_train": n, "n_actual": n if status != CAPPED else n // 2, "available": 500,
         "in_target_subset": n, "status": status, "train_classes": "", "val_classes": "", "test_classes": "",
         "reason": reason}
        for task, n, status, reason in rows
    ]  # fmt: skip
    return pd.DataFrame(records, columns=PLAN_COLUMNS)


EXCLUDED_TARGET = _plan((TARGET, 100, ONE_CLASS, ONE_CLASS_100), (TARGET, 400, OK, ""))


def test_excluded_cells_leave_the_runs_and_the_comparison():
    runs = without_excluded(ALL_GAIN, EXCLUDED_TARGET)
    target_rows = runs[runs["task"] == TARGET]
    assert set(target_rows["n_train"]) == {400}
    assert set(runs.loc[runs["task"] == "a", "n_train"]) == {100, 400}  # other tasks stay
    comparison = comparison_table(ALL_GAIN, TARGET)
    assert set(without_excluded_sizes(comparison, EXCLUDED_TARGET, TARGET)["n_train"]) == {400}
    assert set(comparison_table(runs, TARGET)["n_train"]) == {400}


def test_nothing_excluded_leaves_the_tables_as_they_are():
    ok = _plan((TARGET, 100, OK, ""), ("a", 400, CAPPED, "capped words"))
    assert without_excluded(ALL_GAIN, ok) is ALL_GAIN
    assert without_excluded(ALL_GAIN, None) is ALL_GAIN
    assert excluded(None).empty


def test_findings_name_the_excluded_cell_and_give_no_number_for_it():
    text = write_findings(*tables(ALL_GAIN), TARGET, couplings=["tight", "loose"], plan=EXCLUDED_TARGET)
    assert (
        f"- excluded: {ONE_CLASS_100}. Its runs trained, but every statistic below leaves `t` at n = 100 out."
        in text
    )
    assert "The grid has 2 cells" in text
    assert "/ n = 100:" not in text and "| 100 |" not in text  # no number for the excluded cell
    assert "`tight` / `low` / n = 400: gain" in text


def test_findings_without_plan_notes_are_unchanged():
    runs, comparison, summary = tables(ALL_GAIN)
    plain = write_findings(runs, comparison, summary, TARGET, couplings=["tight", "loose"])
    ok = _plan((TARGET, 100, OK, ""), (TARGET, 400, OK, ""))
    assert write_findings(runs, comparison, summary, TARGET, couplings=["tight", "loose"], plan=ok) == plain
    assert "Study plan" not in plain


def test_findings_name_capped_baselines():
    capped = _plan(("a", 400, CAPPED, "the single-task baseline of `a` at n = 400 trains on all 200 training "
                                      "rows that carry its label"))  # fmt: skip
    text = write_findings(*tables(ALL_GAIN), TARGET, plan=capped)
    assert (
        "- capped: the single-task baseline of `a` at n = 400 trains on all 200 training rows that carry its "
        "label; at n = 400 the average relative improvement compares the multi-task runs with this smaller "
        "baseline." in text
    )


def test_the_plan_table_reads_back_with_task_names_that_look_missing(tmp_path):
    plan = _plan(("NA", 100, ONE_CLASS, "words"), ("t", 100, OK, ""))
    path = tmp_path / "plan.csv"
    plan.to_csv(path, index=False)
    back = read_plan(path)
    assert list(back["task"]) == ["NA", "t"] and list(back["reason"]) == ["words", ""]
    assert back["n_train"].dtype.kind == "i"
    pd.DataFrame({"task": ["t"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="is not a study plan: it lacks the columns"):
        read_plan(path)
