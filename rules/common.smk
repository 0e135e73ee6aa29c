import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir)))

from mtrl.calibration import NetworkShape
from mtrl.config import (
    ConfigError,
    check_config,
    coupling_names,
    fill_defaults,
    is_auto,
    run_parameters,
    sharing_masks,
    study_seeds,
    study_tasks,
)
from mtrl.sharing import sharing_parameters
from mtrl.data import download as official_files
from mtrl.data.plan import auxiliary_from_target_rows
from mtrl.data.plan_notes import PlanNotes
from mtrl.kinds import MULTITASK, SINGLE, SINGLE_COUPLING, SINGLE_SHARING
from mtrl.seed_groups import replicates_per_job, study_seed_groups
from mtrl.stats.seed_rule import read_seed_plan, seed_rule
from mtrl.tasks import task_slug

try:
    # fills the schema's defaults into config, in place (the schema is the one place of every
    # default); a schema error is one line naming the key, the value and what is allowed
    fill_defaults(config)
    check_config(config)
except ConfigError as err:
    raise WorkflowError(f"invalid configuration: {err}") from None


RESULTS = config["results"]
FRONT_PAGE = f"{RESULTS}/report_front_page.rst"
DATA = f"{RESULTS}/data/prepared.h5"
CHOSEN_COUPLINGS = f"{RESULTS}/tables/couplings.yaml"
HYPOTHESES = f"{RESULTS}/tables/hypotheses.csv"
PLAN = f"{RESULTS}/tables/plan.csv"
# with a seeds rule: the seeds each training size gets, decided by checkpoint plan_seeds
SEEDS_PLAN = f"{RESULTS}/tables/seeds.csv"
SEED_RULE = seed_rule(config["seeds"])
INITIAL_SEEDS = study_seeds(config)
# backend, precision, device: resolved once per study (every training job reads the file and
# trains in its precision); a `precision: auto` calibration measures this network
NUMERICS = f"{RESULTS}/numerics.json"
NETWORK_SHAPE = NetworkShape.of_config(config).as_dict()
COUPLINGS = coupling_names(config)
AUTO_COUPLINGS = is_auto(config)
TASKS = study_tasks(config)
TASK_OF_SLUG = {task_slug(t): t for t in TASKS}
# the training rules' messages: which runs the prepared data cap or leave out (mtrl.data.plan_notes)
PLAN_NOTES = PlanNotes(DATA, TASKS, config["target"], config["train_sizes"])
# preset -> sharing mask, of the presets that the entries of `sharing` name (the single-task runs
# use "none"); an entry "<preset or architecture>+<weighting>" (low+uw, mmoe+pcgrad) is read by
# mtrl.sharing.split_entry, in sharing_parameters
SHARING_MASKS = sharing_masks(config)
MTL_RUN = f"{RESULTS}/runs/{{coupling}}/{{sharing}}/n{{n_train}}/seed{{seed}}"
STL_RUN = f"{RESULTS}/runs/single/{{task}}/n{{n_train}}/seed{{seed}}"
# replicates.single_task_networks K > 1: networks 1..K-1 of the target's single-task baseline of each
# seed and size, beside network 0 (STL_RUN); their mean is the seed's baseline (mtrl.aggregate)
STL_NETWORK_RUN = f"{STL_RUN}_net{{network}}"
TARGET_NETWORKS = list(range(1, int(config["replicates"]["single_task_networks"])))
# execution.replicates_per_job: 1, one training job per run (rules train_multitask and
# train_single_task); above 1, the study's seeds in groups of that many, one training rule per
# group and kind (rules train_multitask_<group> and train_single_task_<group>, mtrl.seed_groups)
REPLICATES_PER_JOB = replicates_per_job(config)
SEED_GROUPS = study_seed_groups(config) if REPLICATES_PER_JOB > 1 else []


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    coupling=_alternatives(COUPLINGS),
    sharing=_alternatives(config["sharing"]),
    task=_alternatives(TASK_OF_SLUG),
    n_train=r"\d+",
    seed=r"\d+",
    network=r"[1-9]\d*",


def multitask_runs(filename, seeds):
    """One path per (coupling, sharing, size, seed) of the study; ``seeds``: size -> its seeds."""
    return [
        path
        for n, size_seeds in seeds.items()
        for path in expand(
            f"{MTL_RUN}/{filename}",
            coupling=COUPLINGS,
            sharing=config["sharing"],
            n_train=[n],
            seed=size_seeds,
        )
    ]


def single_task_runs(filename, seeds):
    """One path per (task, size, seed): the single-task baselines of every task of the study;
    ``seeds``: size -> its seeds."""
    return [
        path
        for n, size_seeds in seeds.items()
        for path in expand(
            f"{STL_RUN}/{filename}",
            task=list(TASK_OF_SLUG),
            n_train=[n],
            seed=size_seeds,
        )
    ]


def target_network_runs(filename, seeds):
    """One path per (size, seed, network) of the target's further single-task networks (none with
    one network per seed); ``seeds``: size -> its seeds."""
    return [
        path
        for n, size_seeds in seeds.items()
        for path in expand(
            f"{STL_NETWORK_RUN}/{filename}",
            task=task_slug(config["target"]),
            n_train=[n],
            seed=size_seeds,
            network=TARGET_NETWORKS,
        )
    ]


def initial_seeds():
    """Training size -> the seeds every study starts with (a list's, or a rule's initial seeds)."""
    return {n: INITIAL_SEEDS for n in config["train_sizes"]}


def study_seeds_by_size():
    """Training size -> its seeds: the list, or (a rule) the seeds checkpoint plan_seeds decided."""
    if SEED_RULE is None:
        return initial_seeds()
    return read_seed_plan(checkpoints.plan_seeds.get().output.seeds, SEED_RULE)


def study_runs(filename):
    """Input function: ``filename`` of every run of the study, multi-task and single-task."""

    def paths(wildcards):
        seeds = study_seeds_by_size()
        return (
            multitask_runs(filename, seeds)
            + single_task_runs(filename, seeds)
            + target_network_runs(filename, seeds)
        )

    return paths


def seed_plan_grouping():
    """Params of plan_seeds for replicate groups: the seeds per job where above 1 (a size's seeds are
    then rounded up to whole groups); none at 1, so that a plan made before this key stays up to date.
    """
    return {"replicates_per_job": REPLICATES_PER_JOB} if REPLICATES_PER_JOB > 1 else {}


def seed_plan_inputs(wildcards=None):
    """The study's seed plan when a precision rule sets its seeds (for the findings), else nothing."""
    return {"seeds": SEEDS_PLAN} if SEED_RULE is not None else {}


def front_page():
    """The report's front page: with the findings when they exist, else the plain description."""
    return FRONT_PAGE if os.path.exists(FRONT_PAGE) else "report/workflow.rst"


def all_outputs():
    chosen = [CHOSEN_COUPLINGS] if AUTO_COUPLINGS else []
    chosen += official_files.targets(config)  # downloads, if download.enabled
    return chosen + [
        f"{RESULTS}/findings.md",
        f"{RESULTS}/findings.html",
        f"{RESULTS}/tables/runs.csv",
        f"{RESULTS}/tables/summary.csv",
        f"{RESULTS}/tables/comparison.csv",
        HYPOTHESES,
        f"{RESULTS}/tables/power.csv",
        f"{RESULTS}/tables/task_correlations.csv",
        f"{RESULTS}/figures/forest.png",
        PLAN,
        *seed_plan_inputs().values(),
        f"{RESULTS}/figures/learning_curves.png",
        f"{RESULTS}/figures/training_size.png",
        f"{RESULTS}/figures/gain_heatmap.png",
        f"{RESULTS}/figures/task_correlations.png",
    ]


def multitask_params(wildcards):
    """The RunSpec of one multi-task run (tasks None: read from the chosen couplings)."""
    return multitask_spec(wildcards, seed=int(wildcards.seed))


def multitask_cell_params(wildcards):
    """The RunSpec of a multi-task cell's runs but their seed: a replicate group's params."""
    return multitask_spec(wildcards)


def multitask_spec(wildcards, **seed):
    tasks = None if AUTO_COUPLINGS else list(config["couplings"][wildcards.coupling])
    return dict(
        tasks=tasks,
        target=config["target"],
        n_train=int(wildcards.n_train),
        **seed,
        # a preset's mask, or an architecture's name and options, and the entry's weighting
        # (mtrl.sharing: none for equal weighting, so plain entries keep their parameters)
        **sharing_parameters(config, wildcards.sharing, SHARING_MASKS),
        labels=dict(
            kind=MULTITASK, coupling=wildcards.coupling, sharing=wildcards.sharing
        ),
        **run_parameters(config, tasks or TASKS),
    )


def multitask_inputs(wildcards):
    """The prepared data and the study's numerics, and the chosen couplings when they come from
    the data."""
    inputs = {"data": DATA, "numerics": NUMERICS}
    if AUTO_COUPLINGS:
        inputs["couplings"] = CHOSEN_COUPLINGS
    return inputs


def single_task_params(wildcards):
    """The RunSpec of one single-task baseline run."""
    return single_task_spec(wildcards, seed=int(wildcards.seed))


def single_task_network_params(wildcards):
    """The RunSpec of one further network of a seed's single-task baseline."""
    return single_task_spec(
        wildcards, seed=int(wildcards.seed), network=int(wildcards.network)
    )


def single_task_cell_params(wildcards):
    """The RunSpec of a task's single-task runs of one size but their seed: a group's params."""
    return single_task_spec(wildcards)


def single_task_spec(wildcards, **seed):
    task = TASK_OF_SLUG[wildcards.task]
    return dict(
        tasks=[task],
        target=task,
        n_train=int(wildcards.n_train),
        **seed,
        sharing_mask=list(SHARING_MASKS[SINGLE_SHARING]),
        labels=dict(kind=SINGLE, coupling=SINGLE_COUPLING, sharing=SINGLE_SHARING),
        **run_parameters(config, [task]),
    )


# ---- replicate groups (execution.replicates_per_job > 1): one training rule per group of seeds ----
RUN_FILES = {
    "model": "model.keras",
    "history": "history.csv",
    "metrics": "metrics.json",
}
# a training run's own resources (as rules train_multitask and train_single_task in train.smk)
RUN_RESOURCES = {"mem_mb": 3000, "runtime": 60}
# what a group job needs once per run of the group, summed; the rest (a GPU, a partition) once
SUMMED_RESOURCES = ("mem_mb", "mem_mib", "mem", "runtime")


def group_outputs(run, group):
    """A group rule's outputs: model, history and metrics of each seed's run (``run``: MTL_RUN or
    STL_RUN), named ``<file>_seed<k>``."""
    return {
        f"{name}_seed{seed}": f"{run.replace('{seed}', str(seed))}/{filename}"
        for seed in group.seeds
        for name, filename in RUN_FILES.items()
    }


def group_network_outputs(group):
    """The outputs of a group's further single-task networks: model, history and metrics of each
    (seed, network), named ``<file>_seed<k>_net<j>``."""
    return {
        f"{name}_seed{seed}_net{network}": f"{STL_NETWORK_RUN.replace('{seed}', str(seed)).replace('{network}', str(network))}/{filename}"
        for seed in group.seeds
        for network in TARGET_NETWORKS
        for name, filename in RUN_FILES.items()
    }


def group_networks(wildcards, output):
    """A network group job's (seed, network) pairs, read from its outputs' names
    (``metrics_seed<k>_net<j>``), as group_seeds reads a group's seeds."""
    return [
        [int(part) for part in name.removeprefix("metrics_seed").split("_net")]
        for name in output.keys()
        if name.startswith("metrics_seed")
    ]


def group_seeds(wildcards, output):
    """A group job's seeds, read from its outputs' names (``metrics_seed<k>``). Derived from the
    outputs, so Snakemake does not record them as a parameter of the runs: another grouping
    (replicates_per_job above 1) finds the runs up to date, while a change of the cell's settings
    (params ``run``) retrains them."""
    return [
        int(name.removeprefix("metrics_seed"))
        for name in output.keys()
        if name.startswith("metrics_seed")
    ]


def _times(value, factor):
    return (
        round(value * factor)
        if isinstance(value, int | float) and factor != 1
        else value
    )


def _per_run(value, factor):
    """A resource or thread count of one run, ``factor`` times: a plain value, or a profile's
    (``--set-resources``/``--set-threads``) that may be an expression of the attempt."""
    if not hasattr(value, "evaluate"):
        return _times(value, factor)
    if not value.is_evaluable():
        return _times(value.value, factor)

    def evaluate(wildcards, **aux):
        return _times(value.evaluate(wildcards, **aux).value, factor)

    return evaluate


def group_threads(run_rule):
    """A group job's threads: one run's, i.e. those the profile sets for ``run_rule``
    (``set-threads: train_multitask: 2``), else 1, as rule ``run_rule`` would get."""
    threads = workflow.resource_settings.overwrite_threads.get(run_rule)
    return 1 if threads is None else _per_run(threads, 1)


def group_resources(run_rule, group, runs=None):
    """A group job's resources: those of its runs together. One run's are RUN_RESOURCES updated by
    what the profile sets for ``run_rule`` (``set-resources: train_multitask: ...``, read here so
    that profiles keep holding the resources); memory and runtime count once per run of the group,
    the rest (a GPU, a partition) once. ``--set-resources <group rule>:...`` still wins.
    ``runs``: the job's runs where they are not one per seed of ``group`` (its seeds' networks).
    """
    profile = dict(workflow.resource_settings.overwrite_resources.get(run_rule) or {})
    one_run = dict(RUN_RESOURCES)
    if profile.keys() & {"mem", "mem_mib"}:
        del one_run["mem_mb"]  # the profile gives the memory in another unit
    one_run.update(profile)
    scaled = {
        name: _per_run(value, (runs or len(group)) if name in SUMMED_RESOURCES else 1)
        for name, value in one_run.items()
    }
    return {
        name: value for name, value in scaled.items() if value is not None
    }  # None: not set


def group_message(kind, group, resources):
    """A group rule's message (its job's line in the log and in ``snakemake -n``): the seeds and the
    cell it trains, its threads and resources (memory and runtime of its runs together), and the study
    plan's note on the cell (PLAN_NOTES) where it has one."""
    if kind == MULTITASK:
        cell = f"{RESULTS}/runs/{{wildcards.coupling}}/{{wildcards.sharing}}/n{{wildcards.n_train}}"
        spec = "multitask {wildcards.n_train}"
    else:
        cell = f"{RESULTS}/runs/single/{{wildcards.task}}/n{{wildcards.n_train}}"
        spec = "single {wildcards.task} {wildcards.n_train}"
    # memory and runtime (every group job has them), and what else the rule sets to a value known
    # before the job (a GPU): an expression (a partition) may turn out None, unknown to the message
    shown = ["mem_mb", "runtime"] + [
        n for n, v in resources.items() if n not in SUMMED_RESOURCES and not callable(v)
    ]
    named = ", ".join(f"{name}={{resources.{name}}}" for name in shown)
    return (
        f"trains {group.words} of {cell} in one job ({len(group)} runs; threads {{threads}}; {named})"
        f"{{PLAN_NOTES:+ {spec} {cell}/{group.file_stem}}}"
    )
