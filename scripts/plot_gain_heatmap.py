"""Snakemake script of rule plot_gain_heatmap."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.logs import logged_to
from mtrl.plots import gain_heatmap
from mtrl.tasks import primary_metric

with logged_to(snakemake.log[0]):
    comparison = pd.read_csv(snakemake.input.comparison)
    runs = pd.read_csv(snakemake.input.runs)  # the target's kind, for findings.metric: auto
    gain_heatmap(
        comparison,
        primary_metric(runs, snakemake.params.target, snakemake.params.metric),
        snakemake.output.figure,
        couplings=snakemake.params.couplings,
        sharings=snakemake.params.sharing,
    )
