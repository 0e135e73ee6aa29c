"""Snakemake script of rule confirm: the confirmatory family's verdicts and the per-cell power."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.io import atomic_path
from mtrl.logs import logged_to
from mtrl.stats.answers import baseline_margins_table, gains_table, hypotheses_table, power_table
from mtrl.stats.exclusions import read_plan, without_excluded
from mtrl.tasks import primary_metric

with logged_to(snakemake.log[0]):
    params = snakemake.params
    runs = without_excluded(pd.read_csv(snakemake.input.runs), read_plan(snakemake.input.plan))
    metric = primary_metric(runs, params.target, params.findings["metric"])
    gains = gains_table(runs, params.target, metric)
    tables = {
        snakemake.output.hypotheses: hypotheses_table(
            gains,
            params.findings,
            metric,
            params.couplings,
            params.sharing,
            params.sizes,
            margins=baseline_margins_table(runs, params.target, metric),
        ),
        snakemake.output.power: power_table(gains, params.findings, metric),
    }
    for path, table in tables.items():
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
