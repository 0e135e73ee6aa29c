"""Snakemake script of rule plot_forest."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.logs import logged_to
from mtrl.plots import forest_plot
from mtrl.tasks import primary_metric

with logged_to(snakemake.log[0]):
    runs = pd.read_csv(snakemake.input.runs)  # the target's kind, for findings.metric: auto
    forest_plot(
        pd.read_csv(snakemake.input.comparison),
        primary_metric(runs, snakemake.params.target, snakemake.params.metric),
        snakemake.output.figure,
        couplings=snakemake.params.couplings,
        sharings=snakemake.params.sharing,
    )
