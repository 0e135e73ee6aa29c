"""Snakemake script of rule plot_task_correlations."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.logs import logged_to
from mtrl.plots import correlation_heatmap

with logged_to(snakemake.log[0]):
    correlation_heatmap(pd.read_csv(snakemake.input.table), snakemake.output.figure)
