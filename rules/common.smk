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


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    coupling=_alternatives(COUPLINGS),
    sharing=_alternatives(config["sharing"]),
    task=_alternatives(TASK_OF_SLUG),
    n_train=r"\d+",
    seed=r"\d+",


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
        return multitask_runs(filename, seeds) + single_task_runs(filename, seeds)

    return paths


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
    tasks = None if AUTO_COUPLINGS else list(config["couplings"][wildcards.coupling])
    return dict(
        tasks=tasks,
        target=config["target"],
        n_train=int(wildcards.n_train),
        seed=int(wildcards.seed),
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
    task = TASK_OF_SLUG[wildcards.task]
    return dict(
        tasks=[task],
        target=task,
        n_train=int(wildcards.n_train),
        seed=int(wildcards.seed),
        sharing_mask=list(SHARING_MASKS[SINGLE_SHARING]),
        labels=dict(kind=SINGLE, coupling=SINGLE_COUPLING, sharing=SINGLE_SHARING),
        **run_parameters(config, [task]),
    )
