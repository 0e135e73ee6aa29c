"""Snakemake script of rule plan_study: what each task gets at each training size (tables/plan.csv)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import logging

import pandas as pd

from mtrl.data.plan import PLAN_COLUMNS, check_plan, notes, plan_study
from mtrl.data.prepared import read_prepared_labels
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    params = snakemake.params
    labels = read_prepared_labels(snakemake.input.data)
    cells = plan_study(labels, params.tasks, params.target, params.train_sizes)
    for note in notes(cells):
        logging.getLogger("mtrl").warning("study plan: %s", note)
    check_plan(cells, params.target, params.auxiliary_from_target_rows)
    with atomic_path(snakemake.output.plan) as tmp:
        pd.DataFrame([c.record() for c in cells], columns=PLAN_COLUMNS).to_csv(tmp, index=False)
