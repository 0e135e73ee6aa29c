"""The numerics of a study, resolved once (rule resolve_numerics) and used by every training run."""

import json

import pandas as pd
import pytest

from mtrl.numerics import read_numerics
from workflow import job_counts, snakemake, tiny_config

pytestmark = pytest.mark.workflow


def test_every_run_trains_in_the_numerics_resolved_once_for_the_study(tmp_path):
    config = tiny_config(tmp_path, train_sizes=[40], seeds=[1], sharing=["low"])
    args = ("--cores", "2", "--configfile", str(config))
    snakemake(*args)
    assert "Nothing to be done" in snakemake("-n", *args).stdout
    results = tmp_path / "results"
    numerics = read_numerics(results / "numerics.json")
    assert numerics["backend"] == "torch" and numerics["setting"] == "auto" and numerics["device"] == "cpu"
    assert (results / "logs/resolve_numerics.log").exists()
    docs = [json.loads(path.read_text()) for path in results.glob("runs/**/metrics.json")]
    assert len(docs) == 2 + 4
    used = {(doc["run"]["backend"], doc["run"]["precision"], doc["run"]["device"]) for doc in docs}
    assert used == {(numerics["backend"], numerics["precision"], numerics["device"])}
    runs = pd.read_csv(results / "tables/runs.csv")
    assert set(runs["precision"]) == {numerics["precision"]} and set(runs["device"]) == {"cpu"}
    findings = (results / "findings.md").read_text()
    assert (
        f"**Numerics.** Every run trained with backend `torch` in {numerics['precision']} on device `cpu`, "
        f"as resolved once for the study from `precision: auto`: {numerics['decided_by']}." in findings
    )
    # every training job's precision param is numerics.json's: change it there, and exactly the
    # training jobs (and what reads their outputs) see their params changed
    original = (results / "numerics.json").read_text()
    other = "float32" if numerics["precision"] == "bfloat16" else "bfloat16"
    (results / "numerics.json").write_text(json.dumps({**numerics, "precision": other}))
    dry = snakemake("-n", "--rerun-triggers", "params", *args).stdout
    counts = job_counts(dry)
    assert counts["train_multitask"] == 2 and counts["train_single_task"] == 4, dry[-3000:]
    assert "resolve_numerics" not in counts and "prepare_data" not in counts
    (results / "numerics.json").write_text(original)
    assert "Nothing to be done" in snakemake("-n", "--rerun-triggers", "params", *args).stdout
