"""The tiny study end to end through snakemake: every output, the report, reruns and failures."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from workflow import REPO, SNAKEMAKE, job_counts, snakemake, tiny_config

pytestmark = pytest.mark.workflow

RUN_FILES = ("model.keras", "history.csv", "metrics.json")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    config = tiny_config(tmp)
    snakemake("--cores", "2", "--configfile", str(config))
    snakemake("--cores", "2", "--configfile", str(config), "--report", str(tmp / "results" / "report.html"))
    return tmp / "results", config


def test_every_run_has_its_outputs_log_and_benchmark(study):
    results, _ = study
    runs = [p.parent for p in results.glob("runs/**/metrics.json")]
    assert len(runs) == 2 * 3 * 2 * 2 + 4 * 2 * 2
    for run in runs:
        for name in RUN_FILES:
            assert (run / name).stat().st_size > 0, run / name
        rel = run.relative_to(results / "runs")
        log = results / "logs" / "runs" / rel.parent / f"{rel.name}.log"
        bench = results / "benchmarks" / "runs" / rel.parent / f"{rel.name}.tsv"
        assert log.exists() and bench.exists()
    assert (results / "runs/single/t_close2/n120/seed2/metrics.json").exists()
    assert (results / "runs/tight/mine/n40/seed1/metrics.json").exists()


def test_metrics_json_has_every_metric_for_every_task_and_split(study):
    results, _ = study
    doc = json.loads((results / "runs/tight/low/n40/seed1/metrics.json").read_text())
    assert (
        doc["run"]["coupling"] == "tight" and doc["run"]["sharing"] == "low" and doc["run"]["n_train"] == 40
    )
    for split in ("val", "test"):
        assert set(doc["metrics"][split]) == {"t_target", "t_close1", "t_close2"}
        assert set(doc["metrics"][split]["t_close2"]["model"]) == {"rmse", "mae", "r2"}
        assert set(doc["metrics"][split]["t_target"]["baseline"]) == {
            "accuracy",
            "error",
            "balanced_accuracy",
            "roc_auc",
            "f1",
            "log_loss",
        }
    assert doc["training"]["epochs_trained"] >= 1 and doc["training"]["training_seconds"] > 0


def test_tables(study):
    results, _ = study
    runs = pd.read_csv(results / "tables/runs.csv")
    # rows: per run x task x split x metric
    per_task = {"t_target": 6, "t_close1": 6, "t_far1": 6, "t_close2": 3}
    expected = 0
    for _coupling, tasks in {
        "tight": ["t_target", "t_close1", "t_close2"],
        "loose": ["t_target", "t_far1"],
    }.items():
        expected += 3 * 2 * 2 * 2 * sum(per_task[t] for t in tasks)
    expected += 2 * 2 * 2 * sum(per_task.values())
    assert len(runs) == expected
    summary = pd.read_csv(results / "tables/summary.csv")
    assert {"mean", "sd", "ci_low", "ci_high", "n_seeds", "baseline_mean"} <= set(summary.columns)
    assert (summary["n_seeds"] == 2).all()
    comparison = pd.read_csv(results / "tables/comparison.csv")
    for column in [
        "coupling",
        "sharing",
        "n_train",
        "split",
        "metric",
        "mtl_mean",
        "stl_mean",
        "gain_mean",
        "gain_ci_low",
        "gain_ci_high",
        "p_value",
        "n_seeds",
    ]:
        assert column in comparison.columns
    assert len(comparison) == 2 * 3 * 2 * 2 * 6
    row = comparison[
        (comparison.coupling == "tight")
        & (comparison.sharing == "low")
        & (comparison.n_train == 40)
        & (comparison.split == "test")
        & (comparison.metric == "error")
    ].iloc[0]
    mtl = runs[
        (runs.coupling == "tight")
        & (runs.sharing == "low")
        & (runs.n_train == 40)
        & (runs.task == "t_target")
        & (runs.split == "test")
        & (runs.metric == "error")
    ]["value"].mean()
    assert row["mtl_mean"] == pytest.approx(mtl)
    correlations = pd.read_csv(results / "tables/task_correlations.csv")
    assert set(correlations["task_a"]) == {"t_target", "t_close1", "t_close2", "t_far1"}


def test_figures_and_report(study):
    results, _ = study
    for name in ("learning_curves", "training_size", "gain_heatmap", "task_correlations"):
        png = results / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (results / "report.html").read_text(errors="replace")
    for category in ("Data", "Learning curves", "Training size", "Sharing", "Comparison"):
        assert category in report


def test_rerun_is_a_no_op_and_reproduces_metrics(study, tmp_path):
    results, config = study
    assert "Nothing to be done" in snakemake("-n", "--cores", "2", "--configfile", str(config)).stdout
    # the same run again in another folder gives identical metrics
    other = tiny_config(tmp_path)
    path = "runs/loose/low/n40/seed1/metrics.json"
    snakemake(str(tmp_path / "results" / path), "--cores", "2", "--configfile", str(other))
    a = json.loads((results / path).read_text())["metrics"]
    b = json.loads((tmp_path / "results" / path).read_text())["metrics"]
    assert a == b


def test_killed_training_job_leaves_no_finished_output_and_resumes(tmp_path):
    config = tiny_config(
        tmp_path,
        training={
            "optimizer": "adam",
            "learning_rate": 0.003,
            "batch_size": 2,
            "max_epochs": 500,
            "patience": 500,
        },
    )
    run = tmp_path / "results/runs/tight/low/n120/seed1"
    target = str(run / "metrics.json")
    snakemake(str(tmp_path / "results/data/prepared.h5"), "--cores", "1", "--configfile", str(config))
    proc = subprocess.Popen(
        [*SNAKEMAKE, target, "--cores", "1", "--configfile", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    log = tmp_path / "results/logs/runs/tight/low/n120/seed1.log"
    deadline = time.time() + 120
    while time.time() < deadline and not log.exists():
        time.sleep(0.2)
    time.sleep(10)  # past start-up, inside fit
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists()
    snakemake("--unlock", "--configfile", str(config))
    out = snakemake(target, "-n", "--cores", "1", "--configfile", str(config)).stdout
    assert job_counts(out).get("train_multitask") == 1
    config_fast = tiny_config(tmp_path)  # back to a short run: the resumed job completes
    snakemake(target, "--cores", "1", "--configfile", str(config_fast))
    assert all((run / name).exists() for name in RUN_FILES)


def test_keep_going_failing_runs_do_not_stop_or_corrupt_the_others(tmp_path):
    training = yaml.safe_load((REPO / "tests/data/tiny.yaml").read_text())["training"]
    # an absurd loss weight on t_far1 makes every run that trains t_far1 fail with a non-finite loss
    bad = tiny_config(
        tmp_path, train_sizes=[40], seeds=[1], sharing=["low"],
        training={**training, "loss_weights": {"t_far1": 1e300}},
    )  # fmt: skip
    proc = snakemake("--cores", "2", "--keep-going", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "Error in rule train_multitask" in proc.stdout
    results = tmp_path / "results"
    log = (results / "logs/runs/loose/low/n40/seed1.log").read_text()
    assert "NonFiniteLossError" in log and re.search(r"loss became (inf|nan) at epoch 1", log)
    assert not (results / "runs/loose/low/n40/seed1/metrics.json").exists()
    assert not (results / "runs/single/t_far1/n40/seed1/model.keras").exists()
    done = results / "runs/tight/low/n40/seed1/metrics.json"
    before = done.read_bytes()
    assert (results / "runs/single/t_target/n40/seed1/metrics.json").exists()
    # with the config fixed, rerunning trains only what failed and finishes the study
    good = tiny_config(tmp_path, train_sizes=[40], seeds=[1], sharing=["low"])
    snakemake("--cores", "2", "--configfile", str(good))
    assert done.read_bytes() == before
    assert (results / "tables/comparison.csv").exists()


def test_report_opens_in_a_browser_with_findings_categories_and_figures(study):
    from browser import ensure_chromium, render

    chromium, why_not = ensure_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is needed for the report test in CI: {why_not}")
        pytest.skip(why_not)
    results, _ = study
    findings = (results / "findings.md").read_text()
    assert "## Q1." in findings and "## Q4." in findings
    shot = results / "report.png"
    page = render(results / "report.html", shot)
    assert page.console_errors == []
    assert "Q1. Is multi-task learning beneficial" in page.dom
    assert 'id="mtrl-findings"' in page.dom
    for category in ("Findings", "Data", "Learning curves", "Training size", "Sharing", "Comparison"):
        assert category in page.dom
    assert "learning_curves.png" in page.dom or "<img" in page.dom
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_cli_reproduces_a_runs_test_metrics(study):
    results, _ = study
    run = results / "runs/tight/low/n120/seed2"
    proc = subprocess.run(
        [sys.executable, "-m", "mtrl.evaluate", str(run / "model.keras"), str(results / "data/prepared.h5"),
         "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = json.loads(proc.stdout)
    saved = json.loads((run / "metrics.json").read_text())["metrics"]["test"]
    assert set(printed) == {"t_target", "t_close1", "t_close2"}
    for task, result in printed.items():
        assert result["n"] == saved[task]["n"]
        for metric, value in result["model"].items():
            assert value == pytest.approx(saved[task]["model"][metric], rel=1e-5, abs=1e-6), (task, metric)
    table = subprocess.run(
        [sys.executable, "-m", "mtrl.evaluate", str(run / "model.keras"), str(results / "data/prepared.h5")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "t_close2" in table.stdout and "rmse" in table.stdout
