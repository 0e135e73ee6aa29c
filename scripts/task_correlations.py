"""Snakemake script of rule task_correlations: label correlations on the training split."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.correlations import label_correlations
from mtrl.data.prepared import read_prepared
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    data = read_prepared(snakemake.input.data)
    rows = data.rows("train")
    table = label_correlations({t.name: data.labels(t.name, rows) for t in data.tasks}, data.tasks)
    with atomic_path(snakemake.output.table) as tmp:
        table.to_csv(tmp, index=False)
