"""Cells the data cannot fill, through snakemake: known right after preparation, never a mid-study failure
and never a number for a cell that means nothing."""

import json

import pandas as pd
import pytest
import yaml

from workflow import REPO, job_counts, snakemake, tiny, tiny_config

pytestmark = pytest.mark.workflow


def _config(tmp_path, tasks: dict, split_seed: int = 0, **overrides):
    """The tiny study, two seeds, one sharing level, with synthetic task parameters changed."""
    data = tiny()["data"]
    for name, params in tasks.items():
        data["synthetic"]["tasks"][name].update(params)
    data["split"]["seed"] = split_seed
    return str(tiny_config(tmp_path, sharing=["low"], data=data, **overrides))


def test_an_auxiliary_task_with_fewer_labels_than_a_size_is_capped_and_the_study_completes(tmp_path):
    # t_far1 carries a label on 30% of the tracks: 76 training rows, fewer than the size 120
    config = _config(
        tmp_path, {"t_far1": {"labelled_fraction": 0.3}}, couplings={"loose": ["t_target", "t_far1"]}
    )
    results = tmp_path / "results"
    snakemake(str(results / "data/prepared.h5"), "--cores", "2", "--configfile", config)
    assert "study plan: capped" in (results / "logs/prepare_data.log").read_text()
    dry = snakemake("-n", "--cores", "2", "--configfile", config).stdout
    assert job_counts(dry)["train_single_task"] == 2 * 2 * 2
    for seed in (1, 2):
        assert (
            f"runs/single/t_far1/n120/seed{seed}/metrics.json: capped at 76: the single-task baseline" in dry
        )
    assert "n40/seed1/metrics.json: capped" not in dry

    snakemake("--cores", "2", "--configfile", config)
    doc = json.loads((results / "runs/single/t_far1/n120/seed1/metrics.json").read_text())
    assert doc["run"]["n_train"] == 120
    assert doc["training"]["n_train_actual"] == 76 == doc["labelled"]["t_far1"]["train"]
    ok = json.loads((results / "runs/single/t_far1/n40/seed1/metrics.json").read_text())
    assert ok["training"]["n_train_actual"] == 40
    plan = pd.read_csv(results / "tables/plan.csv")
    row = plan[(plan.task == "t_far1") & (plan.n_train == 120)].iloc[0]
    assert (row["status"], row["n_actual"], row["available"]) == ("capped", 76, 76)
    assert set(plan.loc[plan.task == "t_target", "status"]) == {"ok"}
    findings = (results / "findings.md").read_text()
    assert (
        "- capped: the single-task baseline of `t_far1` at n = 120 trains on all 76 training rows" in findings
    )
    assert "## Q4." in findings


def test_a_target_with_one_class_in_a_training_subset_is_excluded_with_the_reason(tmp_path):
    # 12 positives in 400 rows: the first 40 target-labelled training rows hold none (split seed 4)
    config = _config(
        tmp_path,
        {"t_target": {"positive_rate": 0.03}},
        split_seed=4,
        couplings={"tight": ["t_target", "t_close1"]},
    )
    results = tmp_path / "results"
    snakemake(str(results / "data/prepared.h5"), "--cores", "2", "--configfile", config)
    dry = snakemake("-n", "--cores", "2", "--configfile", config).stdout
    assert "runs/tight/low/n40/seed1/metrics.json: trains, but every statistic leaves it out" in dry
    assert "runs/single/t_target/n40/seed2/metrics.json: trains, but every statistic leaves it out" in dry

    snakemake("--cores", "2", "--configfile", config)
    plan = pd.read_csv(results / "tables/plan.csv")
    row = plan[(plan.task == "t_target") & (plan.n_train == 40)].iloc[0]
    assert (row["status"], row["train_classes"]) == ("one-class", "40/0")
    comparison = pd.read_csv(results / "tables/comparison.csv")
    assert set(comparison["n_train"]) == {120}
    findings = (results / "findings.md").read_text()
    assert (
        "- excluded: the training subset of `t_target` at n = 40 has one class (40 negatives, 0 positives, "
        "both classes from n = 47 on)." in findings
    )
    assert "/ n = 40:" not in findings and "| 40 |" not in findings  # no number for the excluded cell
    assert "/ n = 120" in findings


def test_a_target_with_one_class_in_the_test_split_stops_right_after_preparation(tmp_path):
    # 8 positives in 400 rows: none among the 80 test rows (split seed 3)
    config = _config(tmp_path, {"t_target": {"positive_rate": 0.02}}, split_seed=3)
    proc = snakemake("--cores", "2", "--configfile", config, check=False)
    assert proc.returncode != 0
    assert "Error in rule prepare_data" in proc.stdout
    log = (tmp_path / "results/logs/prepare_data.log").read_text()
    assert "no training size of target task 't_target' can be judged" in log
    assert "the test split of `t_target` has one class (80 negatives, 0 positives)" in log
    assert not (tmp_path / "results/runs").exists()  # no training job started
    assert not (tmp_path / "results/data/prepared.h5").exists()


def test_a_target_with_fewer_labels_than_a_size_stops_right_after_preparation(tmp_path):
    # t_target carries a label on 30% of the 400 rows: 72 training rows, fewer than the size 120
    config = _config(tmp_path, {"t_target": {"labelled_fraction": 0.3}})
    proc = snakemake("--cores", "2", "--configfile", config, check=False)
    assert proc.returncode != 0 and "Error in rule prepare_data" in proc.stdout
    log = (tmp_path / "results/logs/prepare_data.log").read_text()
    assert (
        "train_sizes [120] exceed the 72 training rows that carry a label of target task 't_target'; use "
        "sizes of at most 72" in log
    )
    assert not (tmp_path / "results/runs").exists()


def _msd_config(tmp_path, **overrides) -> str:
    """configs/msd-sample.yaml, small: one sharing level, two seeds, a narrow network, few epochs."""
    config = yaml.safe_load((REPO / "configs/msd-sample.yaml").read_text())
    config.update(results=str(tmp_path / "results"), seeds=[1, 2], sharing=["low"], **overrides)
    config["replicates"] = {"vary": ["init", "order"]}  # the runs' counts are the plan's (the fixed split)
    # its confirmatory family names the sample's couplings and sizes, which these studies replace
    config["findings"] = {**config.get("findings", {}), "hypotheses": []}
    config["model"] = {"widths": [64, 32, 16, 8], "dropout": [0.0, 0.0, 0.5, 0.5], "activation": "relu"}
    config["training"] = {**config["training"], "max_epochs": 5}
    path = tmp_path / "msd.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def test_real_data_a_genre_with_fewer_labels_than_the_year_target_size_is_capped(tmp_path, msd_sample):
    # years label ~5,600 training tracks, genres only the ~1,570 tagged ones
    config = _msd_config(
        tmp_path, target="year", couplings={"loose": ["year", "genre:Rap"]}, train_sizes=[1600]
    )
    snakemake("--cores", "2", "--configfile", config)
    results = tmp_path / "results"
    plan = pd.read_csv(results / "tables/plan.csv").set_index("task")
    assert plan.loc["genre:Rap", "status"] == "capped" and plan.loc["year", "status"] == "ok"
    capped = int(plan.loc["genre:Rap", "n_actual"])
    assert 1000 < capped < 1600
    doc = json.loads((results / "runs/single/genre_Rap/n1600/seed1/metrics.json").read_text())
    assert doc["training"]["n_train_actual"] == capped
    assert f"trains on all {capped} training rows" in (results / "findings.md").read_text()


def test_real_data_a_rare_genre_target_stops_after_preparation(tmp_path, msd_sample):
    # genre:Vocal: 3 tagged tracks in the sample
    config = _msd_config(tmp_path, target="genre:Vocal", couplings={"tight": ["genre:Vocal", "genre:Jazz"]},
                         train_sizes=[100])  # fmt: skip
    proc = snakemake("--cores", "2", "--configfile", config, check=False)
    assert proc.returncode != 0 and "Error in rule prepare_data" in proc.stdout
    log = (tmp_path / "results/logs/prepare_data.log").read_text()
    assert "no training size of target task 'genre:Vocal' can be judged" in log
    assert "the training subset of `genre:Vocal` at n = 100 has one class (100 negatives, 0 positives" in log
    assert not (tmp_path / "results/runs").exists()
