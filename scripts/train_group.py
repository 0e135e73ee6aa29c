"""Snakemake script of the group rules train_multitask_<seeds>, train_single_task_<seeds> and
train_single_task_networks_<seeds>
(execution.replicates_per_job > 1): the runs of one cell that differ only in their seed, trained
in one program (mtrl.job.run_group_job), each written to its usual run folder.

As scripts/train.py for one run: the call goes to a warm worker (mtrl/worker/) that reads the
prepared data once; inside a Slurm job, or with MTRL_WORKER=off, it runs in this process. A seed
that fails fails the group, with a message naming the seed.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.couplings import run_tasks
from mtrl.job_handoff import hand_off
from mtrl.numerics import in_study_precision, read_numerics
from mtrl.orphans import watch_starter

# Stop when snakemake is killed (kill -9 leaves its jobs running): a rerun must never train these
# runs beside a job left over; the job itself holds the lock of each of its runs (mtrl.runlock).
watch_starter(log=snakemake.log[0])

# the cell's tasks (couplings: auto) and its precision (numerics.json) as the study resolved them;
# params.run is every field of the group's runs but the seed, params.seeds their seeds
study_numerics = read_numerics(snakemake.input.numerics)
cell = run_tasks(snakemake.params.run, snakemake.input.get("couplings"))
cell = in_study_precision(cell, study_numerics)
# a group's seeds (params.seeds), or its seeds' further single-task networks (params.networks:
# [seed, network] pairs, rules train_single_task_networks_<seeds>)
if "networks" in snakemake.params.keys():  # noqa: SIM118 (a Namedlist: `in` looks at values)
    replicates = [(int(seed), int(network)) for seed, network in snakemake.params.networks]
else:
    replicates = [(int(seed), 0) for seed in snakemake.params.seeds]


def _suffix(seed, network):
    return f"_seed{seed}" + (f"_net{network}" if network else "")


outputs = [
    {key: snakemake.output[f"{key}{_suffix(*replicate)}"] for key in ("model", "history", "metrics")}
    for replicate in replicates
]
specs = [{**cell, "seed": seed, **({"network": network} if network else {})} for seed, network in replicates]

hand_off(
    "run_group_job",
    {"specs": specs, "outputs": outputs},
    study_numerics,
    data_path=snakemake.input.data,
    log=snakemake.log[0],
    backend=snakemake.params.backend,
    threads=snakemake.threads,
)
