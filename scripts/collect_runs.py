"""Snakemake script of rule collect_runs: tidy table of every run's metrics, and all histories."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.aggregate import histories_table, read_metrics, runs_table
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    docs = read_metrics(snakemake.input.metrics)
    with atomic_path(snakemake.output.runs) as tmp:
        runs_table(docs, snakemake.params.target).to_csv(tmp, index=False)
    histories = [pd.read_csv(path) for path in snakemake.input.histories]
    with atomic_path(snakemake.output.histories) as tmp:
        histories_table(docs, histories).to_csv(tmp, index=False)
