"""Snakemake script of rules train_multitask and train_single_task: one training run.

The run goes to a warm worker (a process of this machine that has imported Keras already; see
mtrl/worker/), which forks a fresh process for it; inside a Slurm job, or with MTRL_WORKER=off,
it runs in this process.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.couplings import run_tasks
from mtrl.worker import run

run(
    "mtrl.train:train_run_json",
    {
        "data_path": snakemake.input.data,
        "spec": run_tasks(snakemake.params.run, snakemake.input.get("couplings")),
        "model_path": snakemake.output.model,
        "history_path": snakemake.output.history,
        "metrics_path": snakemake.output.metrics,
        "backend": snakemake.params.backend,
    },
    log=snakemake.log[0],
    backend=snakemake.params.backend,
    threads=snakemake.threads,
    # imported once by the warm worker: training, and what a run needs to write its history
    preload=("mtrl.train", "mtrl.aggregate"),
    # read by the server before it forks the run, which then shares the parsed copy
    warm=("mtrl.data.cache:warm", {"path": snakemake.input.data}),
)
