"""Study benchmark (not a test): the default study's wall time and where its job time goes.

Runs the whole default study (``config.yaml``: data, every training run, tables, plots, findings)
from scratch in a scratch output root, as ``make run`` does, then the report, and splits the
training jobs' time (their ``benchmark:`` files) into training (``fit``, from each run's
``metrics.json``) and the rest: the run's set-up (model and inputs), its final evaluation, saving
``history.csv`` and ``model.keras``, and the job outside ``train_run`` (Snakemake's job start, the
hand-off to the warm worker and back).

    python benchmarks/bench_study.py [--config config.yaml] [--out results/bench/study.json]

The scratch root (``results/bench/study``) is deleted afterwards: the study writes ~4 GB of
models; its ``tables/`` are kept beside ``--out`` (``study_tables/`` for ``study.json``). A warm
worker left by an earlier run of the same code is reused, as it would be by ``make run``;
``worker_start_seconds`` says what the first jobs waited for one.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHASES = ("setup", "evaluation", "saving")


def job_seeds(stem: str) -> list[int]:
    """The seeds a training job's benchmark file is named after: ``seed3``, or a replicate group's
    ``seeds1-4`` / ``seeds1_3_and_7`` (:class:`mtrl.seed_groups.SeedGroup`)."""
    if match := re.fullmatch(r"seed(\d+)", stem):
        return [int(match[1])]
    if match := re.fullmatch(r"seeds(\d+)-(\d+)", stem):
        return list(range(int(match[1]), int(match[2]) + 1))
    if match := re.fullmatch(r"seeds([\d_]+)_and_(\d+)", stem):
        return [*map(int, match[1].split("_")), int(match[2])]
    raise ValueError(f"not a training job's benchmark file: {stem}")


def job_runs(runs: Path, stem: str) -> list[Path]:
    """The ``metrics.json`` files of the runs (in the cell folder ``runs``) that the training job
    of benchmark file ``stem`` trains: a seed's run or a group's (:func:`job_seeds`), a further
    single-task network of a seed (``seed3_net1``), or a group's further networks
    (``seeds1-4_networks``: every ``seed<k>_net<j>`` of those seeds)."""
    if re.fullmatch(r"seed\d+_net\d+", stem):
        return [runs / stem / "metrics.json"]
    if stem.endswith("_networks"):
        seeds = job_seeds(stem.removesuffix("_networks"))
        return [path for s in seeds for path in sorted(runs.glob(f"seed{s}_net*/metrics.json"))]
    return [runs / f"seed{s}" / "metrics.json" for s in job_seeds(stem)]


def study_split(results: Path) -> dict | None:
    """Training vs the rest of the training jobs of the study in ``results`` (one job per run, or
    one per replicate group of ``execution.replicates_per_job`` runs)."""
    jobs, runs, outside = [], [], []
    for bench in sorted((results / "benchmarks/runs").rglob("*.tsv")):
        cell = bench.parent.relative_to(results / "benchmarks/runs")
        paths = job_runs(results / "runs" / cell, bench.stem)
        if not paths or not all(p.exists() for p in paths):
            continue
        job = float(bench.read_text().splitlines()[-1].split("\t")[0])
        trained = [json.loads(p.read_text())["training"] for p in paths]
        jobs.append(job)
        runs += trained
        outside.append(job - sum(r["total_seconds"] for r in trained))
    if not runs:
        return None
    job_seconds, training = sum(jobs), sum(r["training_seconds"] for r in runs)
    outside = sorted(outside)
    median_outside = outside[len(outside) // 2]
    # the first jobs wait for the warm worker to start: their excess over a typical job
    worker_start = sum(v - median_outside for v in outside if v > median_outside + 1.0)
    return {
        "runs": len(runs),
        "jobs": len(jobs),
        "job_seconds": round(job_seconds, 1),
        "training_seconds": round(training, 1),
        "overhead_seconds": round(job_seconds - training, 1),
        "overhead_fraction": round(1 - training / job_seconds, 3),
        "outside_training_seconds_per_run": round((job_seconds - training) / len(runs), 3),
        **{f"{p}_seconds": round(sum(r.get(f"{p}_seconds", 0.0) for r in runs), 1) for p in PHASES},
        "outside_run_seconds": round(sum(outside), 1),
        "outside_run_median_seconds": round(median_outside, 3),
        "worker_start_seconds": round(worker_start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--root", default="results/bench/study", help="scratch output root (deleted)")
    parser.add_argument("--out", default=str(REPO / "results/bench/study.json"))
    parser.add_argument(
        "--replicates-per-job", type=int, help="execution.replicates_per_job (default: the config's)"
    )
    args = parser.parse_args()
    root = REPO / args.root
    shutil.rmtree(root, ignore_errors=True)
    overrides = root.with_name(root.name + ".yaml")  # nested keys need a config file
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(
        f"results: {args.root}\n"
        + (
            f"execution: {{replicates_per_job: {args.replicates_per_job}}}\n"
            if args.replicates_per_job
            else ""
        )
    )
    snakemake = [
        str(Path(sys.executable).with_name("snakemake")),
        "--configfile",
        args.config,
        str(overrides),
        "--quiet",
    ]
    try:
        t0 = time.perf_counter()
        subprocess.run(snakemake, cwd=REPO, check=True)
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([*snakemake, "--report", str(root / "report.html")], cwd=REPO, check=True)
        report = time.perf_counter() - t0
        result = {
            "config": args.config,
            "replicates_per_job": args.replicates_per_job,
            "wall_seconds": round(wall, 1),
            "report_seconds": round(report, 1),
            **(study_split(root) or {}),
        }
        # the study's tables (small) outlive its runs: e.g. the cell means of R = 1 against R = 4
        tables = Path(args.out).with_name(Path(args.out).stem + "_tables")
        shutil.rmtree(tables, ignore_errors=True)
        shutil.copytree(root / "tables", tables)
        result["tables"] = str(tables)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"default study: {result['wall_seconds']:.0f} s wall + {result['report_seconds']:.0f} s report; "
        f"{result['runs']} runs in {result['jobs']} jobs, {result['job_seconds']:.0f} job-s, "
        f"{result['training_seconds']:.0f} training, overhead {result['overhead_fraction']:.1%} = "
        + ", ".join(f"{p} {result[f'{p}_seconds']:.1f}" for p in PHASES)
        + f"; outside training {result['outside_training_seconds_per_run']:.2f} s a run"
        + f", outside train_run {result['outside_run_seconds']:.1f} s "
        f"(of which waiting for the worker to start {result['worker_start_seconds']:.1f})"
    )


if __name__ == "__main__":
    main()
