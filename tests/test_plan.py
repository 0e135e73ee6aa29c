"""The study plan (mtrl.data.plan): capped auxiliary baselines, one-class cells, a target too small for a
size; what a run trains on; and the notes the training rules' messages show after preparation."""

import numpy as np
import pytest

from mtrl.data.dataset import Dataset, Split, make_split
from mtrl.data.plan import (
    CAPPED,
    NO_LABELS,
    OK,
    ONE_CLASS,
    TOO_FEW,
    PlanError,
    auxiliary_from_target_rows,
    check_plan,
    class_counts,
    count_words,
    plan_study,
    training_size,
    two_class_size,
)
from mtrl.data.plan_notes import PlanNotes
from mtrl.data.prepared import PreparedData, PreparedLabels, read_prepared_labels, write_prepared
from mtrl.data.synthetic import generate
from mtrl.kinds import SINGLE
from mtrl.tasks import TaskSpec

N = 200  # rows; the split below: 0-139 train (in this order), 140-169 validation, 170-199 test
SPLIT = Split(train=np.arange(140), val=np.arange(140, 170), test=np.arange(170, 200))
TASKS = [
    TaskSpec("t", "binary"),
    TaskSpec("aux", "binary"),
    TaskSpec("reg", "regression"),
    TaskSpec("genre", "multiclass", ("Rock", "Pop", "Rap")),
]


def _labels(**changes: np.ndarray) -> PreparedLabels:
    """Balanced labels on every row (binary 0/1 alternating, multiclass 0/1/2), with ``changes``."""
    columns = {
        "t": (np.arange(N) % 2).astype(float),
        "aux": (np.arange(N) % 2).astype(float),
        "reg": np.linspace(-1, 1, N),
        "genre": (np.arange(N) % 3).astype(float),
    }
    return PreparedLabels(TASKS, {**columns, **changes}, SPLIT)


def _cell(cells, task, n):
    return next(c for c in cells if c.task == task and c.n_train == n)


def test_cells_the_data_fill_are_ok_with_their_class_counts():
    cells = plan_study(_labels(), ["t", "aux", "reg", "genre"], "t", [100, 40])
    assert [(c.task, c.n_train) for c in cells][:2] == [("t", 40), ("t", 100)]  # sizes in order
    assert {c.status for c in cells} == {OK}
    t40 = _cell(cells, "t", 40)
    assert (t40.n_actual, t40.available, t40.in_target_subset) == (40, 140, 40)
    assert t40.classes == {"train": (20, 20), "val": (15, 15), "test": (15, 15)}
    assert t40.record()["train_classes"] == "20/20" and t40.reason == ""
    assert _cell(cells, "reg", 40).record()["train_classes"] == ""  # regression: no classes
    assert _cell(cells, "genre", 100).classes["train"] == (34, 33, 33)
    check_plan(cells, "t")  # nothing to stop


def test_an_auxiliary_task_with_fewer_labels_than_a_size_is_capped():
    aux = np.full(N, np.nan)
    aux[:90:3] = np.arange(30) % 2  # 30 labelled training rows, both classes
    aux[140:] = np.arange(60) % 2
    cells = plan_study(_labels(aux=aux), ["t", "aux"], "t", [20, 100])
    assert _cell(cells, "aux", 20).status == OK
    capped = _cell(cells, "aux", 100)
    assert (capped.status, capped.n_actual, capped.available) == (CAPPED, 30, 30)
    assert capped.reason == (
        "the single-task baseline of `aux` at n = 100 trains on all 30 training rows that carry its label"
    )
    assert capped.classes["train"] == (15, 15)
    assert (capped.in_target_subset, _cell(cells, "aux", 20).in_target_subset) == (30, 7)  # rows 0, 3, .., 18
    check_plan(cells, "t", auxiliary_from_target_rows=True)  # a capped auxiliary task does not stop the study


def test_an_auxiliary_task_without_labels_in_the_target_subset_stops_a_study_that_needs_them():
    aux = np.full(N, np.nan)
    aux[100:] = np.arange(100) % 2  # labelled only after the first 100 training rows
    cells = plan_study(_labels(aux=aux), ["t", "aux"], "t", [20, 80, 120])
    assert [_cell(cells, "aux", n).in_target_subset for n in (20, 80, 120)] == [0, 0, 20]
    with pytest.raises(PlanError) as err:
        check_plan(cells, "t", auxiliary_from_target_rows=True)
    assert str(err.value).startswith(
        "auxiliary tasks without a label among the target 't''s training rows, so that a multi-task run "
        "cannot train them: 'aux' at n = 20, 80; use larger train_sizes"
    )
    check_plan(cells, "t")  # with every auxiliary label in use (or couplings still to choose): fine


def test_auxiliary_tasks_learn_from_the_target_rows_with_fixed_couplings_and_target_labels_only():
    training = {"auxiliary_use_all_labels": False}
    assert auxiliary_from_target_rows({"couplings": {"tight": ["t", "a"]}, "training": training})
    assert not auxiliary_from_target_rows({"couplings": "auto", "training": training})
    assert not auxiliary_from_target_rows({"couplings": {"tight": ["t", "a"]},
                                           "training": {"auxiliary_use_all_labels": True}})  # fmt: skip


def test_the_target_with_fewer_labels_than_a_size_stops_the_study_naming_size_task_and_count():
    t = (np.arange(N) % 2).astype(float)
    t[100:140] = np.nan  # 100 labelled training rows
    cells = plan_study(_labels(t=t), ["t", "aux"], "t", [50, 120, 130])
    assert _cell(cells, "t", 120).status == TOO_FEW
    assert _cell(cells, "aux", 130).status == OK  # an auxiliary task with every label is fine
    with pytest.raises(PlanError, match=r"train_sizes \[120, 130\] exceed the 100 training rows that carry a "
                       r"label of target task 't'; use sizes of at most 100"):  # fmt: skip
        check_plan(cells, "t")


def test_a_training_subset_with_one_class_is_excluded_with_the_counts():
    t = np.zeros(N)
    t[[57, 80, 150, 160, 175, 185]] = 1  # first positive of the training order at row 57
    cells = plan_study(_labels(t=t), ["t"], "t", [40, 100])
    one = _cell(cells, "t", 40)
    assert one.status == ONE_CLASS and one.excluded
    assert one.classes["train"] == (40, 0)
    assert one.reason == (
        "the training subset of `t` at n = 40 has one class (40 negatives, 0 positives, both classes from "
        "n = 58 on)"
    )
    assert _cell(cells, "t", 100).status == OK
    check_plan(cells, "t")  # one size is left, the study goes on


def test_a_validation_or_test_split_with_one_class_excludes_every_size():
    t = (np.arange(N) % 2).astype(float)
    t[170:] = 0
    cells = plan_study(_labels(t=t, aux=t.copy()), ["t", "aux"], "t", [40, 100])
    for cell in cells:
        assert cell.status == ONE_CLASS
        assert f"the test split of `{cell.task}` has one class (30 negatives, 0 positives)" in cell.reason
    with pytest.raises(PlanError) as err:
        check_plan(cells, "t")
    message = str(err.value)
    assert "no training size of target task 't' can be judged" in message
    assert message.count("the test split of `t` has one class (30 negatives, 0 positives)") == 1


def test_a_target_with_one_class_at_every_size_stops_the_study():
    t = np.zeros(N)
    t[[120, 150, 160, 175, 185]] = 1
    cells = plan_study(_labels(t=t), ["t"], "t", [20, 50])
    with pytest.raises(PlanError, match=r"at n = 20 has one class \(20 negatives, 0 positives, both classes "
                       r"from n = 121 on\); the training subset of `t` at n = 50"):  # fmt: skip
        check_plan(cells, "t")


def test_a_task_without_training_labels_stops_the_study():
    aux = np.full(N, np.nan)
    aux[140:] = 1.0
    cells = plan_study(_labels(aux=aux), ["t", "aux"], "t", [20])
    assert _cell(cells, "aux", 20).status == NO_LABELS
    with pytest.raises(PlanError, match="task 'aux' has no labelled row in the training split"):
        check_plan(cells, "t")


def test_a_task_missing_from_the_data_is_named():
    with pytest.raises(PlanError, match=r"tasks \['nope'\] are not in the prepared data"):
        plan_study(_labels(), ["t", "nope"], "t", [20])


def test_class_counts_in_words():
    genre = TASKS[3]
    assert class_counts(genre, np.array([0, 2, 2, np.nan])) == (1, 0, 2)
    assert count_words(genre, (1, 0, 2)) == "Rock 1, Pop 0, Rap 2"
    assert count_words(TASKS[0], (3, 1)) == "3 negatives, 1 positives"
    assert count_words(TASKS[0], (0, 0)) == "no labelled row"
    assert two_class_size(np.array([1.0, 1.0, 0.0])) == 3
    assert two_class_size(np.array([1.0, 1.0])) is None


def test_training_size_caps_only_when_asked():
    aux = np.full(N, np.nan)
    aux[:30] = np.arange(30) % 2
    labels = _labels(aux=aux)
    assert training_size(labels, "aux", 100, cap=True) == 30
    assert training_size(labels, "aux", 20, cap=True) == 20
    assert training_size(labels, "aux", 100, cap=False) == 100


@pytest.fixture(scope="module")
def few_aux_labels(tmp_path_factory):
    """A prepared file: target ``t`` labelled everywhere, ``a`` on 20% of the rows only."""
    dataset = generate(
        n_rows=300,
        n_features=60,
        tasks={
            "t": {"kind": "binary", "rho": 1.0},
            "a": {"kind": "binary", "rho": 0.9, "labelled_fraction": 0.2},
        },
        seed=2,
    )
    path = tmp_path_factory.mktemp("few") / "prepared.h5"
    write_prepared(path, dataset, make_split(300, 0.2, 0.2, seed=0, stratify=dataset.labels["t"]), {})
    return path


def test_a_single_task_run_trains_on_all_labels_of_a_capped_task(few_aux_labels):
    from mtrl.data.prepared import read_prepared
    from mtrl.run_inputs import prepare_run_inputs
    from mtrl.spec import RunSpec

    data = read_prepared(few_aux_labels)
    available = int(np.count_nonzero(~np.isnan(data.labels("a", data.rows("train")))))
    assert available < 100
    single = RunSpec(tasks=["a"], target="a", n_train=100, seed=1, sharing_mask=[False] * 4,
                     labels={"kind": SINGLE})  # fmt: skip
    inputs = prepare_run_inputs(data, single)
    assert inputs.n_train_actual == available == inputs.n_labelled["a"]["train"]
    # a multi-task run keeps its size: a target too small for it is the user's error
    multi = RunSpec(tasks=["a", "t"], target="a", n_train=100, seed=1, sharing_mask=[True] * 4)
    with pytest.raises(ValueError, match=f"larger than the {available} training examples"):
        prepare_run_inputs(data, multi)


def test_the_labels_reader_gives_the_plan_of_the_full_reader(few_aux_labels):
    from mtrl.data.prepared import read_prepared

    quick = plan_study(read_prepared_labels(few_aux_labels), ["t", "a"], "t", [30, 100])
    full = plan_study(read_prepared(few_aux_labels), ["t", "a"], "t", [30, 100])
    assert quick == full
    assert _cell(quick, "a", 100).status == CAPPED


def test_plan_notes_for_the_rule_messages(few_aux_labels, tmp_path):
    notes = PlanNotes(few_aux_labels, ["t", "a"], "t", [30, 100])
    capped = format(notes, "single a 100 results/runs/single/a/n100/seed1/metrics.json")
    assert capped.startswith("results/runs/single/a/n100/seed1/metrics.json: capped at ")
    assert "trains on all" in capped
    assert format(notes, "single a 30 x") == ""  # nothing to say: Snakemake's usual description
    # "+ <spec>": to end a message of the rule's own (a replicate group's), after "; " or nothing
    group = format(notes, "+ single a 100 results/runs/single/a/n100/seeds1-4")
    assert group.startswith("; results/runs/single/a/n100/seeds1-4: capped at ")
    assert format(notes, "+ single a 30 x") == ""
    assert format(notes, "multitask 100 x") == ""  # the target is fine
    assert format(notes, "nonsense") == ""  # a message never stops the workflow
    assert format(PlanNotes(tmp_path / "absent.h5", ["t", "a"], "t", [100]), "single a 100 x") == ""


def test_plan_notes_name_excluded_multitask_runs(tmp_path):
    t = np.zeros(N)
    t[[57, 80, 150, 160, 175, 185]] = 1
    columns = dict(_labels(t=t).label_columns)
    dataset = Dataset(generate(n_rows=N, n_features=20, tasks={"x": {"kind": "binary", "rho": 1.0}}).features,
                      columns, TASKS, np.arange(N).astype(str).astype(object))  # fmt: skip
    path = tmp_path / "prepared.h5"
    write_prepared(path, dataset, SPLIT, {})
    notes = PlanNotes(path, ["t", "aux"], "t", [40, 100])
    note = format(notes, "multitask 40 results/runs/tight/low/n40/seed1/metrics.json")
    assert note.startswith(
        "results/runs/tight/low/n40/seed1/metrics.json: trains, but every statistic leaves"
    )
    assert "(40 negatives, 0 positives" in note
    assert format(notes, "multitask 100 x") == ""


def test_prepare_data_stops_before_writing_when_the_target_has_one_class_in_validation(tmp_path):
    from mtrl.prepare import prepare_data

    config = {
        "source": "synthetic",
        "split": {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
        "synthetic": {"n_rows": 400, "n_features": 50, "seed": 17,
                      "tasks": {"t": {"kind": "binary", "rho": 1.0, "positive_rate": 0.02}}},
    }  # fmt: skip
    out = tmp_path / "prepared.h5"
    with pytest.raises(PlanError) as err:
        prepare_data(config, ["t"], "t", [40], out)
    assert "the validation split of `t` has one class (80 negatives, 0 positives)" in str(err.value)
    assert "the training subset of `t` at n = 40 has one class (40 negatives, 0 positives" in str(err.value)
    assert not out.exists()


def test_prepare_data_logs_capped_cells(tmp_path, caplog):
    from mtrl.prepare import prepare_data

    config = {
        "source": "synthetic",
        "split": {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
        "synthetic": {"n_rows": 300, "n_features": 50, "seed": 1,
                      "tasks": {"t": {"kind": "binary", "rho": 1.0},
                                "a": {"kind": "binary", "rho": 0.5, "labelled_fraction": 0.2}}},
    }  # fmt: skip
    with caplog.at_level("WARNING"):
        prepare_data(config, ["t", "a"], "t", [30, 100], tmp_path / "prepared.h5")
    assert "study plan: capped: the single-task baseline of `a` at n = 100" in caplog.text


def test_prepared_data_and_its_labels_share_the_plan_interface():
    dataset = generate(n_rows=50, n_features=20, tasks={"t": {"kind": "binary", "rho": 1.0}}, seed=0)
    split = make_split(50, 0.2, 0.2, seed=0)
    full = PreparedData(dataset, split, {})
    quick = PreparedLabels(dataset.tasks, dataset.labels, split)
    assert plan_study(full, ["t"], "t", [10]) == plan_study(quick, ["t"], "t", [10])


def test_the_labels_reader_calls_a_cut_file_corrupt(few_aux_labels, tmp_path):
    from mtrl.data.prepared import CorruptPreparedDataError

    cut = tmp_path / "cut.h5"
    cut.write_bytes(few_aux_labels.read_bytes()[:2048])
    with pytest.raises(CorruptPreparedDataError, match="delete it or run with `-R prepare_data`"):
        read_prepared_labels(cut)
    with pytest.raises(FileNotFoundError, match="run the prepare_data rule"):
        read_prepared_labels(tmp_path / "absent.h5")
