"""The numerics of a study, resolved once (rule resolve_numerics) and used by every training run."""

import json

import pandas as pd
import pytest

from mtrl.numerics import read_numerics
from workflow import snakemake, tiny_config

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
    # a training job trains in numerics.json's precision, whatever its own node would choose:
    # with the other precision written there, a run trained again follows the file
    other = "float32" if numerics["precision"] == "bfloat16" else "bfloat16"
    (results / "numerics.json").write_text(json.dumps({**numerics, "precision": other}))
    run = results / "runs/loose/low/n40/seed1/metrics.json"
    snakemake(str(run), "-f", *args)
    assert json.loads(run.read_text())["run"]["precision"] == other
