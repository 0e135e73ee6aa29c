"""Snakemake script of rule compare: multi-task minus single-task on the target, paired by seed."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.aggregate import comparison_table
from mtrl.io import atomic_path
from mtrl.logs import logged_to
from mtrl.stats.exclusions import read_plan, without_excluded

with logged_to(snakemake.log[0]):
    runs = without_excluded(pd.read_csv(snakemake.input.runs), read_plan(snakemake.input.plan))
    comparison = comparison_table(runs, snakemake.params.target)
    with atomic_path(snakemake.output.comparison) as tmp:
        comparison.to_csv(tmp, index=False)
