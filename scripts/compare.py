"""Snakemake script of rule compare: multi-task minus single-task on the target, paired by seed."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd  # noqa: E402

from mtrl.aggregate import comparison_table  # noqa: E402
from mtrl.io import atomic_path  # noqa: E402
from mtrl.logs import logged_to  # noqa: E402

with logged_to(snakemake.log[0]):
    comparison = comparison_table(pd.read_csv(snakemake.input.runs), snakemake.params.target)
    with atomic_path(snakemake.output.comparison) as tmp:
        comparison.to_csv(tmp, index=False)
