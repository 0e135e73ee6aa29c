"""Study benchmark (not a test): the default study's wall time and where its job time goes.

Runs the whole default study (``config.yaml``: data, every training run, tables, plots, findings)
from scratch in a scratch output root, as ``make run`` does, then the report, and splits the
training jobs' time (their ``benchmark:`` files) into training (``fit``, from each run's
``metrics.json``) and the rest: the run's set-up (model and inputs), its final evaluation, saving
``history.csv`` and ``model.keras``, and the job outside ``train_run`` (Snakemake's job start, the
hand-off to the warm worker and back).

    python benchmarks/bench_study.py [--config config.yaml] [--out results/bench/study.json]

The scratch root (``results/bench/study``) is deleted afterwards: the study writes ~4 GB of
models. A warm worker left by an earlier run of the same code is reused, as it would be by
``make run``; ``worker_start_seconds`` says what the first jobs waited for one.
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHASES = ("setup", "evaluation", "saving")


def study_split(results: Path) -> dict | None:
    """Training vs the rest of the training jobs of the study in ``results``."""
    jobs, runs = [], []
    for path in glob.glob(str(results / "runs/**/metrics.json"), recursive=True):
        run = Path(path).parent.relative_to(results / "runs")
        bench = results / "benchmarks/runs" / run.parent / f"{run.name}.tsv"
        if not bench.exists():
            continue
        jobs.append(float(bench.read_text().splitlines()[-1].split("\t")[0]))
        runs.append(json.loads(Path(path).read_text())["training"])
    if not runs:
        return None
    job_seconds, training = sum(jobs), sum(r["training_seconds"] for r in runs)
    outside = sorted(job - r["total_seconds"] for job, r in zip(jobs, runs, strict=True))
    median_outside = outside[len(outside) // 2]
    # the first jobs wait for the warm worker to start: their excess over a typical job
    worker_start = sum(v - median_outside for v in outside if v > median_outside + 1.0)
    return {
        "runs": len(runs),
        "job_seconds": round(job_seconds, 1),
        "training_seconds": round(training, 1),
        "overhead_seconds": round(job_seconds - training, 1),
        "overhead_fraction": round(1 - training / job_seconds, 3),
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
    args = parser.parse_args()
    root = REPO / args.root
    shutil.rmtree(root, ignore_errors=True)
    snakemake = [
        str(Path(sys.executable).with_name("snakemake")),
        "--configfile",
        args.config,
        "--config",
        f"results={args.root}",
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
            "wall_seconds": round(wall, 1),
            "report_seconds": round(report, 1),
            **(study_split(root) or {}),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"default study: {result['wall_seconds']:.0f} s wall + {result['report_seconds']:.0f} s report; "
        f"{result['runs']} runs, {result['job_seconds']:.0f} job-s, {result['training_seconds']:.0f} "
        f"training, overhead {result['overhead_fraction']:.1%} = "
        + ", ".join(f"{p} {result[f'{p}_seconds']:.1f}" for p in PHASES)
        + f", outside train_run {result['outside_run_seconds']:.1f} s "
        f"(of which waiting for the worker to start {result['worker_start_seconds']:.1f})"
    )


if __name__ == "__main__":
    main()
