"""Snakemake script of rule summarise: mean, sd and 95% CI over seeds."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.aggregate import summary_table
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    summary = summary_table(pd.read_csv(snakemake.input.runs))
    with atomic_path(snakemake.output.summary) as tmp:
        summary.to_csv(tmp, index=False)
