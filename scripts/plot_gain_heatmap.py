"""Snakemake script of rule plot_gain_heatmap."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd  # noqa: E402

from mtrl.aggregate import primary_metric  # noqa: E402
from mtrl.logs import logged_to  # noqa: E402
from mtrl.plots import gain_heatmap  # noqa: E402

with logged_to(snakemake.log[0]):
    comparison = pd.read_csv(snakemake.input.comparison)
    gain_heatmap(comparison, primary_metric(comparison), snakemake.output.figure)
