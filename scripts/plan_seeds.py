"""Snakemake script of checkpoint plan_seeds: the seeds each training size gets (a seeds rule)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.aggregate import read_metrics, runs_table
from mtrl.io import atomic_path
from mtrl.logs import logged_to
from mtrl.stats.answers import gains_table
from mtrl.stats.exclusions import read_plan, without_excluded
from mtrl.stats.seed_rule import seed_plan, seed_rule
from mtrl.tasks import primary_metric

with logged_to(snakemake.log[0]):
    params = snakemake.params
    runs = runs_table(read_metrics(snakemake.input.metrics), params.target)
    runs = without_excluded(runs, read_plan(snakemake.input.plan))
    gains = gains_table(runs, params.target, primary_metric(runs, params.target, params.metric))
    # replicates_per_job: a param only where above 1 (seeds rounded up to whole groups)
    per_job = params.get("replicates_per_job", 1)
    plan = seed_plan(gains, seed_rule(params.seeds), params.sizes, 1 - params.alpha, per_job)
    with atomic_path(snakemake.output.seeds) as tmp:
        plan.to_csv(tmp, index=False)
