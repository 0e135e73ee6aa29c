"""Snakemake script of rules train_multitask and train_single_task: one training run."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.runtime import configure

configure(snakemake.params.backend, threads=snakemake.threads)

from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    from mtrl.couplings import run_tasks
    from mtrl.train import RunSpec, train_run

    train_run(
        data_path=snakemake.input.data,
        spec=RunSpec(**run_tasks(snakemake.params.run, snakemake.input.get("couplings"))),
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        metrics_path=snakemake.output.metrics,
        backend=snakemake.params.backend,
    )
