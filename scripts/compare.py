"""Snakemake script of rule compare: multi-task minus single-task on the target, paired by seed."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.aggregate import comparison_table
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    comparison = comparison_table(pd.read_csv(snakemake.input.runs), snakemake.params.target)
    with atomic_path(snakemake.output.comparison) as tmp:
        comparison.to_csv(tmp, index=False)
