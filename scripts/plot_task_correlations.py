"""Snakemake script of rule plot_task_correlations."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd  # noqa: E402

from mtrl.logs import logged_to  # noqa: E402
from mtrl.plots import correlation_heatmap  # noqa: E402

with logged_to(snakemake.log[0]):
    correlation_heatmap(pd.read_csv(snakemake.input.table), snakemake.output.figure)
