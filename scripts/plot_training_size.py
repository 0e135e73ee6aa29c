"""Snakemake script of rule plot_training_size."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.logs import logged_to
from mtrl.plots import training_size
from mtrl.tasks import primary_metric

with logged_to(snakemake.log[0]):
    summary = pd.read_csv(snakemake.input.summary)
    runs = pd.read_csv(snakemake.input.runs)  # the target's kind, for findings.metric: auto
    target = snakemake.params.target
    training_size(
        summary,
        target,
        primary_metric(runs, target, snakemake.params.metric),
        snakemake.output.figure,
        couplings=snakemake.params.couplings,
        sharings=snakemake.params.sharing,
    )
