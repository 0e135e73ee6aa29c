"""Snakemake script of rule collect_runs: tidy table of every run's metrics, and all histories."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd  # noqa: E402

from mtrl.aggregate import histories_table, read_metrics, runs_table  # noqa: E402
from mtrl.io import atomic_path  # noqa: E402
from mtrl.logs import logged_to  # noqa: E402

with logged_to(snakemake.log[0]):
    docs = read_metrics(snakemake.input.metrics)
    with atomic_path(snakemake.output.runs) as tmp:
        runs_table(docs, snakemake.params.target).to_csv(tmp, index=False)
    histories = [pd.read_csv(path) for path in snakemake.input.histories]
    with atomic_path(snakemake.output.histories) as tmp:
        histories_table(docs, histories).to_csv(tmp, index=False)
