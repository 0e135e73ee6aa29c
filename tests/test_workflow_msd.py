"""The real Million Song sample end to end, and couplings chosen from the data."""

import json

import pandas as pd
import pytest
import yaml

from workflow import REPO, job_counts, snakemake, tiny_config

pytestmark = pytest.mark.workflow

SMALL_MODEL = {"widths": [64, 32, 16, 8], "dropout": [0.0, 0.0, 0.5, 0.5], "activation": "relu"}


def test_msd_sample_config_end_to_end(tmp_path, msd_sample):
    config = yaml.safe_load((REPO / "configs/msd-sample.yaml").read_text())
    assert config["data"]["source"] == "msd"
    # the shipped config, made small: one size, two seeds, one sharing level, a narrower network
    config.update(results=str(tmp_path / "results"), train_sizes=[150], seeds=[1, 2], sharing=["low"])
    config["model"] = SMALL_MODEL
    path = tmp_path / "msd-sample-small.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake("--cores", "2", "--configfile", str(path))
    results = tmp_path / "results"
    log = (results / "logs/prepare_data.log").read_text()
    assert "genre:Pop_Rock" in log and "labelled" in log
    doc = json.loads((results / "runs/tight/low/n150/seed1/metrics.json").read_text())
    target = doc["metrics"]["test"]["genre:Pop_Rock"]
    assert target["n"] > 250  # ~15% of the 2,110 tagged tracks
    # the majority class is Pop_Rock: the trivial baseline's error is the non-Pop_Rock rate (~0.3)
    assert 0.2 < target["baseline"]["error"] < 0.4
    # year is labelled on most tracks, genres only on the tagged ones; each split says how many
    assert doc["labelled"]["genre:Pop_Rock"]["train"] == 150
    loose = json.loads((results / "runs/loose/low/n150/seed1/metrics.json").read_text())
    # validation and test hold target-labelled tracks only; most of them also carry a year
    year_n = loose["metrics"]["test"]["year"]["n"]
    assert 0.7 * target["n"] < year_n <= target["n"]
    assert loose["labelled"]["year"]["test"] == year_n
    summary = pd.read_csv(results / "tables/summary.csv")
    row = summary[
        (summary.task == "genre:Pop_Rock") & (summary.metric == "error") & (summary.split == "test")
    ]
    assert {"mean", "baseline_mean"} <= set(row.columns) and len(row) == 3  # tight, loose, single
    findings = (results / "findings.md").read_text()
    assert "trivial baseline" in findings and "genre:Pop_Rock" in findings


def test_auto_couplings_are_chosen_from_label_correlations(tmp_path):
    config = tiny_config(
        tmp_path, couplings="auto", auto_couplings={"candidates": ["t_close1", "t_close2", "t_far1"], "k": 1},
        train_sizes=[40], seeds=[1], sharing=["low"],
    )  # fmt: skip
    counts = job_counts(snakemake("-n", "--cores", "2", "--configfile", str(config)).stdout)
    assert counts["choose_couplings"] == 1 and counts["train_multitask"] == 2
    assert counts["train_single_task"] == 4  # the target and every candidate
    chosen = tmp_path / "results/tables/couplings.yaml"
    snakemake(str(chosen), str(tmp_path / "results/runs/tight/low/n40/seed1/metrics.json"),
              "--cores", "2", "--configfile", str(config))  # fmt: skip
    couplings = yaml.safe_load(chosen.read_text())
    assert couplings == {"tight": ["t_target", "t_close1"], "loose": ["t_target", "t_far1"]}
    doc = json.loads((tmp_path / "results/runs/tight/low/n40/seed1/metrics.json").read_text())
    assert doc["run"]["tasks"] == ["t_target", "t_close1"]
