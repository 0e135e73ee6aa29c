"""The study benchmark's split of the training jobs' time (benchmarks/bench_study.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

# benchmarks/ is not an installed package: load the script by its path
_SPEC = importlib.util.spec_from_file_location(
    "bench_study", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_study.py"
)
bench_study = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_study)
study_split = bench_study.study_split


def _run(root, rel, job, training, total, setup, evaluation, saving):
    run = root / "runs" / rel
    run.mkdir(parents=True)
    timing = dict(training_seconds=training, total_seconds=total, setup_seconds=setup)
    timing |= dict(evaluation_seconds=evaluation, saving_seconds=saving)
    (run / "metrics.json").write_text(json.dumps({"training": timing}))
    bench = root / "benchmarks/runs" / f"{rel}.tsv"
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(f"s\th:m:s\tmax_rss\n{job}\t0:00:0{int(job)}\t100\n")


def test_split_adds_the_phases_and_finds_the_wait_for_the_worker(tmp_path):
    _run(tmp_path, "tight/low/n100/seed1", 5.2, 1.0, 1.5, 0.1, 0.2, 0.2)  # waited ~3.5 s for the worker
    _run(tmp_path, "tight/low/n100/seed2", 1.7, 1.0, 1.5, 0.1, 0.2, 0.2)
    _run(tmp_path, "single/t_target/n100/seed1", 1.0, 0.5, 0.8, 0.1, 0.1, 0.1)
    split = study_split(tmp_path)
    assert split["runs"] == 3
    assert split["job_seconds"] == pytest.approx(7.9)
    assert split["training_seconds"] == pytest.approx(2.5)
    assert split["overhead_fraction"] == pytest.approx(1 - 2.5 / 7.9, abs=1e-3)
    assert (split["setup_seconds"], split["evaluation_seconds"], split["saving_seconds"]) == (0.3, 0.5, 0.5)
    assert split["outside_run_seconds"] == pytest.approx(3.7 + 0.2 + 0.2)
    assert split["outside_run_median_seconds"] == pytest.approx(0.2)
    assert split["worker_start_seconds"] == pytest.approx(3.5)
    # every second of the jobs is accounted for
    parts = ("training", "setup", "evaluation", "saving", "outside_run")
    assert sum(split[f"{p}_seconds"] for p in parts) == pytest.approx(split["job_seconds"], abs=0.05)


def test_split_of_no_study_is_none(tmp_path):
    assert study_split(tmp_path) is None


def test_split_of_replicate_groups_counts_one_job_per_group(tmp_path):
    """A group job's benchmark file (seeds1-2.tsv) holds the time of its runs together."""
    for seed in (1, 2):
        _run(tmp_path, f"tight/low/n100/seed{seed}", 0.0, 1.0, 1.2, 0.1, 0.05, 0.05)
        (tmp_path / "benchmarks/runs/tight/low/n100" / f"seed{seed}.tsv").unlink()
    (tmp_path / "benchmarks/runs/tight/low/n100/seeds1-2.tsv").write_text("s\th:m:s\n3.0\t0:00:03\n")
    split = study_split(tmp_path)
    assert (split["runs"], split["jobs"]) == (2, 1)
    assert split["job_seconds"] == pytest.approx(3.0)
    assert split["outside_training_seconds_per_run"] == pytest.approx((3.0 - 2.0) / 2)
    assert split["outside_run_seconds"] == pytest.approx(3.0 - 2.4)
    assert bench_study.job_seeds("seeds1_3_and_7") == [1, 3, 7]


def test_split_counts_the_further_single_task_networks(tmp_path):
    """replicates.single_task_networks: a network's own job (seed1_net1.tsv) and a group's
    networks job (seeds1-2_networks.tsv: every seed<k>_net<j> of its seeds) count their runs."""
    _run(tmp_path, "single/t_target/n100/seed1", 1.0, 0.5, 0.8, 0.1, 0.1, 0.1)
    _run(tmp_path, "single/t_target/n100/seed1_net1", 1.1, 0.5, 0.8, 0.1, 0.1, 0.1)
    cell = "single/t_target/n200"
    for seed in (1, 2):
        for net in (1, 2):
            _run(tmp_path, f"{cell}/seed{seed}_net{net}", 0.0, 0.5, 0.6, 0.05, 0.0, 0.05)
            (tmp_path / "benchmarks/runs" / cell / f"seed{seed}_net{net}.tsv").unlink()
    (tmp_path / "benchmarks/runs" / cell / "seeds1-2_networks.tsv").write_text("s\th:m:s\n3.0\t0:00:03\n")
    split = study_split(tmp_path)
    assert (split["runs"], split["jobs"]) == (6, 3)
    assert split["job_seconds"] == pytest.approx(1.0 + 1.1 + 3.0)
    assert split["training_seconds"] == pytest.approx(6 * 0.5)
