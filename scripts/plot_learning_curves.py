"""Snakemake script of rule plot_learning_curves."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.logs import logged_to
from mtrl.plots import learning_curves

with logged_to(snakemake.log[0]):
    learning_curves(
        pd.read_csv(snakemake.input.histories),
        snakemake.params.target,
        snakemake.output.figure,
        couplings=snakemake.params.couplings,
        sharings=snakemake.params.sharing,
    )
