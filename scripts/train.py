"""Snakemake script of rules train_multitask and train_single_task: one training run."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.runtime import configure

configure(snakemake.params.backend, threads=snakemake.threads)

from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    from mtrl.train import RunSpec, train_run

    train_run(
        data_path=snakemake.input.data,
        spec=RunSpec(**snakemake.params.run),
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        metrics_path=snakemake.output.metrics,
        backend=snakemake.params.backend,
    )
