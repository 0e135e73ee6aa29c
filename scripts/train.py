"""Snakemake script of rules train_multitask and train_single_task: one training run.

The run goes to a warm worker (a process of this machine that has imported Keras already; see
mtrl/worker/), which reads the prepared data once (the warm-up) and forks a fresh process for the
run; inside a Slurm job, or with MTRL_WORKER=off, it runs in this process.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.couplings import run_tasks
from mtrl.job_handoff import hand_off
from mtrl.numerics import in_study_precision, read_numerics
from mtrl.orphans import watch_starter

# Stop when snakemake is killed (kill -9 leaves its jobs running): a rerun must never train this
# run beside a job left over; the job itself holds the run's lock too (mtrl.runlock).
watch_starter(log=snakemake.log[0])

# the run's tasks (couplings: auto) and its precision (numerics.json) as the study resolved them
study_numerics = read_numerics(snakemake.input.numerics)
spec = run_tasks(snakemake.params.run, snakemake.input.get("couplings"))
spec = in_study_precision(spec, study_numerics)

hand_off(
    "run_job",
    {
        "spec": spec,
        "model_path": snakemake.output.model,
        "history_path": snakemake.output.history,
        "metrics_path": snakemake.output.metrics,
    },
    study_numerics,
    data_path=snakemake.input.data,
    log=snakemake.log[0],
    backend=snakemake.params.backend,
    threads=snakemake.threads,
)
