"""Precision-driven seeds through snakemake: the dry run shows the initial runs, checkpoint
plan_seeds decides each size's seeds, the added runs train in the usual layout and every table sees
them; raising ``max`` later adds runs and keeps the finished ones."""

import pandas as pd
import pytest

from workflow import job_counts, snakemake, tiny_config

pytestmark = pytest.mark.workflow

# sizes 40 and 120 of the tiny study: a half-width no 2 seeds reach, so each size gets the max
RULE = {"initial": 2, "max": 3, "target_halfwidth": 0.0001}
SINGLE_TASKS = 4
CELLS = 2 * 3  # couplings x sharing levels


def test_dry_run_lists_the_initial_runs_and_the_checkpoint(tmp_path):
    config = tiny_config(tmp_path, seeds=RULE)
    counts = job_counts(snakemake("-n", "--cores", "2", "--configfile", str(config)).stdout)
    assert counts["train_multitask"] == CELLS * 2 * RULE["initial"]
    assert counts["train_single_task"] == SINGLE_TASKS * 2 * RULE["initial"]
    assert counts["plan_seeds"] == 1


def test_rule_adds_seeds_per_size_and_every_table_sees_them(tmp_path):
    config = tiny_config(tmp_path, seeds=RULE)
    snakemake("--cores", "2", "--configfile", str(config))
    results = tmp_path / "results"
    plan = pd.read_csv(results / "tables/seeds.csv")
    assert set(plan["n_train"]) == {40, 120} and (plan["seeds"] == 3).all()
    assert (plan["seeds_initial"] == 2).all() and plan["reason"].str.contains("wider than the target").all()
    runs = pd.read_csv(results / "tables/runs.csv")
    assert sorted(runs["seed"].unique()) == [1, 2, 3]
    assert (results / "runs/tight/low/n40/seed3/metrics.json").exists()
    assert (results / "runs/single/t_far1/n120/seed3/metrics.json").exists()
    hypotheses = pd.read_csv(results / "tables/hypotheses.csv")
    assert (hypotheses["seeds"] == 3).all(), hypotheses
    findings = (results / "findings.md").read_text()
    assert "**Seeds.**" in findings and "n = 40: 3 seeds" in findings

    # a larger max later: the plan is decided anew, the finished runs stay and only new seeds train
    first_run = results / "runs/tight/low/n40/seed1/metrics.json"
    before = first_run.stat().st_mtime_ns
    config = tiny_config(tmp_path, seeds={**RULE, "max": 4})
    out = snakemake("--cores", "2", "--configfile", str(config)).stdout
    assert out.count("rule train_multitask:") == CELLS * 2  # seed 4 of each cell at both sizes
    assert out.count("rule train_single_task:") == SINGLE_TASKS * 2
    assert first_run.stat().st_mtime_ns == before
    assert sorted(pd.read_csv(results / "tables/runs.csv")["seed"].unique()) == [1, 2, 3, 4]
