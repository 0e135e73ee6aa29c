"""Replicate groups through snakemake (execution.replicates_per_job): one rule per group of a cell's
seeds, the runs' usual folders, reruns by path, a seeds rule's plan in whole groups, failures."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow import job_counts, snakemake, tiny, tiny_config

pytestmark = pytest.mark.workflow

RUN_FILES = ("model.keras", "history.csv", "metrics.json")
CELLS = 2 * 3 * 2  # the tiny study: couplings x sharing levels x sizes
SINGLE = 4 * 2  # its single-task (task, size) pairs
# "Job 7: trains seeds 1-4 of <results>/runs/tight/low/n40 in one job (4 runs; threads 1; ...)"
MESSAGE = re.compile(r"^Job \d+: trains (seeds? [\d, and-]+) of (\S+) in one job \((\d+) runs; (.*)\)", re.M)


def _groups(folder, replicates, **overrides):
    """The tiny study with ``execution.replicates_per_job`` and overrides, results in ``folder``."""
    return _tiny(folder, execution={"replicates_per_job": replicates}, **overrides)


def _tiny(folder, **overrides):
    folder.mkdir(parents=True, exist_ok=True)
    return str(tiny_config(folder, **overrides))


def _dry(*args):
    return snakemake(*args, "-n", "--cores", "2").stdout


def _training_counts(counts):
    return {rule: n for rule, n in counts.items() if rule.startswith("train_")}


def test_one_run_per_job_is_the_default_and_unchanged(tmp_path):
    default = job_counts(_dry("--configfile", _tiny(tmp_path / "a")))
    explicit = job_counts(_dry("--configfile", _groups(tmp_path / "b", 1)))
    assert default == explicit
    assert _training_counts(explicit) == {"train_multitask": CELLS * 2, "train_single_task": SINGLE * 2}


def test_six_seeds_in_groups_of_four_are_two_rules_per_kind(tmp_path):
    out = _dry("--configfile", _groups(tmp_path, 4, seeds=[1, 2, 3, 4, 5, 6]))
    assert _training_counts(job_counts(out)) == {
        "train_multitask_seeds1_4": CELLS,
        "train_multitask_seeds5_6": CELLS,
        "train_single_task_seeds1_4": SINGLE,
        "train_single_task_seeds5_6": SINGLE,
    }
    jobs = MESSAGE.findall(out)
    assert len(jobs) == 2 * (CELLS + SINGLE)
    # every run of the study in exactly one job: 6 seeds of every cell and single-task pair
    runs = sorted(f"{folder}/seed{seed}" for words, folder, _, _ in jobs for seed in _seeds(words))
    assert len(runs) == len(set(runs)) == 6 * (CELLS + SINGLE) == sum(int(n) for _, _, n, _ in jobs)
    results = tmp_path / "results"
    assert {f"{results}/runs/tight/low/n40/seed5", f"{results}/runs/single/t_far1/n120/seed6"} <= set(runs)
    four = next(rest for words, _, _, rest in jobs if words == "seeds 1-4")
    two = next(rest for words, _, _, rest in jobs if words == "seeds 5-6")
    # one run's resources (the rules' own: 3000 MB, 60 min) times the runs of the job
    assert four == "threads 1; mem_mb=12000, runtime=240" and two == "threads 1; mem_mb=6000, runtime=120"


def _seeds(words: str) -> list[int]:
    """'seeds 1-4' -> [1, 2, 3, 4]; 'seeds 1, 3 and 7' -> [1, 3, 7]; 'seed 5' -> [5]."""
    if "-" in words:
        first, last = map(int, words.split()[1].split("-"))
        return list(range(first, last + 1))
    return [int(s) for s in re.findall(r"\d+", words)]


def test_a_seeds_rule_groups_its_max_seeds_and_trains_the_initial_ones_first(tmp_path):
    rule = {"initial": 4, "max": 8, "target_halfwidth": 0.01}
    counts = job_counts(_dry("--configfile", _groups(tmp_path / "a", 4, seeds=rule)))
    assert _training_counts(counts) == {
        "train_multitask_seeds1_4": CELLS,
        "train_single_task_seeds1_4": SINGLE,
    }
    assert counts["plan_seeds"] == 1
    # 2 initial seeds in groups of 3: the first group (seeds 1-3) trains before the plan
    rule = {"initial": 2, "max": 5, "target_halfwidth": 0.01}
    out = _dry("--configfile", _groups(tmp_path / "b", 3, seeds=rule))
    assert _training_counts(job_counts(out)) == {
        "train_multitask_seeds1_3": CELLS,
        "train_single_task_seeds1_3": SINGLE,
    }


def test_asking_for_one_run_by_path_runs_exactly_its_group(tmp_path):
    config = _groups(tmp_path, 4, seeds=[1, 2, 3, 4, 5, 6])
    results = tmp_path / "results"
    for run, rule in [
        ("runs/tight/interspersed/n40/seed3", "train_multitask_seeds1_4"),
        ("runs/single/t_far1/n120/seed5", "train_single_task_seeds5_6"),
    ]:
        out = _dry(str(results / run / "metrics.json"), "--configfile", config)
        assert job_counts(out) == {"prepare_data": 1, "resolve_numerics": 1, rule: 1, "total": 3}
        assert len(MESSAGE.findall(out)) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "execution.replicates_per_job: 0 is less than the minimum of 1; allowed: integer (>= 1)"),
        ("x", "execution.replicates_per_job: 'x' is not of type 'integer'; allowed: integer (>= 1)"),
    ],
)
def test_a_bad_replicates_per_job_stops_before_any_job_in_one_line(tmp_path, value, message):
    proc = snakemake("-n", "--cores", "1", "--configfile", _groups(tmp_path, value), check=False)
    assert proc.returncode != 0
    assert f"invalid configuration: {message}" in proc.stdout, proc.stdout[-3000:]
    assert len(proc.stdout.splitlines()) < 12, proc.stdout
    assert "train_" not in proc.stdout


def test_snakemake_lint_is_clean_with_groups(tmp_path):
    out = snakemake("--lint", "--configfile", _groups(tmp_path, 4, seeds=[1, 2, 3, 4, 5]), check=False).stdout
    assert "Lints for" not in out and "lints" not in out.lower().replace("congratulations", ""), out[-4000:]


def test_a_group_job_says_what_the_study_plan_says_of_its_cell(tmp_path):
    # as tests/test_workflow_plan.py: 12 positives in 400 rows leave the first 40 target-labelled
    # training rows without one (split seed 4), so every run at n = 40 is left out of the statistics
    data = tiny()["data"]
    data["synthetic"]["tasks"]["t_target"]["positive_rate"] = 0.03
    data["split"]["seed"] = 4
    couplings = {"tight": ["t_target", "t_close1"]}
    config = _groups(tmp_path, 2, sharing=["low"], couplings=couplings, data=data)
    results = tmp_path / "results"
    snakemake(str(results / "data/prepared.h5"), "--cores", "1", "--configfile", config)
    out = _dry("--configfile", config)
    left_out = (
        "seeds1-2: trains, but every statistic leaves it out: the training subset of `t_target` at n = 40"
    )
    assert (
        f"in one job (2 runs; threads 1; mem_mb=6000, runtime=120); {results}/runs/tight/low/n40/{left_out}"
        in out
    )
    assert f"; {results}/runs/single/t_target/n40/{left_out}" in out
    assert "n120/seeds1-2:" not in out


# ---- real runs ----------------------------------------------------------------------------------------

SMALL = {"train_sizes": [40], "sharing": ["low"]}  # 2 multi-task cells and 4 single-task pairs


def test_a_tiny_study_in_groups_writes_every_run_and_reruns_by_group(tmp_path):
    config = _groups(tmp_path, 2, seeds=[1, 2, 3], **SMALL)
    results = tmp_path / "results"
    out = snakemake(str(results / "tables/runs.csv"), "--cores", "2", "--configfile", config).stdout
    assert out.count("in one job (2 runs;") == 6 and out.count("in one job (1 runs;") == 6
    folders = sorted(p.parent for p in results.glob("runs/**/metrics.json"))
    assert len(folders) == 3 * 6
    for folder in folders:
        for name in RUN_FILES:
            assert (folder / name).stat().st_size > 0, folder / name
    runs = pd.read_csv(results / "tables/runs.csv")
    cells = runs.groupby(["kind", "coupling", "sharing", "n_train"])["seed"].unique()
    assert len(cells) == 2 + 1 and all(sorted(seeds) == [1, 2, 3] for seeds in cells)
    assert set(runs.loc[runs["kind"] == "single", "task"]) == {"t_target", "t_close1", "t_close2", "t_far1"}
    for stem in ("seeds1-2", "seed3"):
        assert (results / f"logs/runs/tight/low/n40/{stem}.log").exists()
        assert (results / f"benchmarks/runs/single/t_far1/n40/{stem}.tsv").exists()

    # a run trained in a group is the run a job of its own trains: the same settings, seed, training
    # subset and labels (its numbers are the training engine's: mtrl.group, tests/test_replicate_groups)
    other = _tiny(tmp_path / "alone", seeds=[1, 2, 3], **SMALL)
    run = "runs/loose/low/n40/seed2/metrics.json"
    snakemake(str(tmp_path / "alone/results" / run), "--cores", "2", "--configfile", other)
    alone = json.loads((tmp_path / "alone/results" / run).read_text())
    grouped = json.loads((results / run).read_text())
    assert grouped["run"] == alone["run"] and grouped["run"]["seed"] == 2
    for key in ("labelled", "scaling"):
        assert grouped[key] == alone[key], key
    assert grouped["training"]["n_train_actual"] == alone["training"]["n_train_actual"] == 40

    # another grouping finds every run up to date; a lost run, asked for by path, reruns its group,
    # and so does -f on a run's path
    target = str(results / "tables/runs.csv")
    regrouped = tmp_path / "regrouped.yaml"
    settings = {**yaml.safe_load(Path(config).read_text()), "execution": {"replicates_per_job": 3}}
    regrouped.write_text(yaml.safe_dump(settings, sort_keys=False))  # the tasks' order draws the data
    assert "Nothing to be done" in _dry(target, "--configfile", str(regrouped))
    lost = results / "runs/tight/low/n40/seed2/metrics.json"
    lost.unlink()
    counts = job_counts(_dry(str(lost), "--configfile", config))
    assert counts == {"train_multitask_seeds1_2": 1, "total": 1}
    forced = _dry(str(results / "runs/single/t_close1/n40/seed1/metrics.json"), "-f", "--configfile", config)
    assert _training_counts(job_counts(forced)) == {"train_single_task_seeds1_2": 1}


def test_a_seeds_rule_in_groups_uses_every_seed_its_jobs_train(tmp_path):
    # 2 initial seeds, groups of 3: the first stage trains seeds 1-3; a half-width any 2 seeds reach
    # (ROC-AUC gains: sd <= 1.42, so t(0.975, 1) * sd / sqrt(2) < 12.8) needs 2 seeds, rounded up to
    # the whole group of 3
    rule = {"initial": 2, "max": 4, "target_halfwidth": 20.0}
    config = _groups(tmp_path, 3, seeds=rule, **SMALL)
    results = tmp_path / "results"
    snakemake(str(results / "tables/comparison.csv"), "--cores", "2", "--configfile", config)
    plan = pd.read_csv(results / "tables/seeds.csv")
    assert (plan["seeds_needed"] == 2).all() and (plan["seeds"] == 3).all()
    rounded = "; 3 with whole groups of 3 seeds per job (execution.replicates_per_job)"
    assert plan["reason"].str.endswith(rounded).all(), plan["reason"]
    assert sorted(pd.read_csv(results / "tables/runs.csv")["seed"].unique()) == [1, 2, 3]
    assert (pd.read_csv(results / "tables/comparison.csv")["n_seeds"] == 3).all()
    assert not list(results.glob("runs/**/seed4"))


def test_a_failing_seed_fails_its_group_and_the_others_complete(tmp_path):
    bad = tiny()["training"] | {"loss_weights": {"t_far1": 1e300}}  # every run of t_far1 fails
    config = _groups(tmp_path, 2, seeds=[1, 2], training=bad, **SMALL)
    results = tmp_path / "results"
    proc = snakemake(str(results / "tables/runs.csv"), "--cores", "2", "--keep-going", "--configfile", config,
                     check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "Error in rule train_multitask_seeds1_2" in proc.stdout
    log = (results / "logs/runs/loose/low/n40/seeds1-2.log").read_text()
    assert "replicate seed 1 of the group of seeds [1, 2] failed, so the group fails" in log
    for seed in (1, 2):
        assert not list((results / f"runs/loose/low/n40/seed{seed}").glob("*.*"))
        assert not (results / f"runs/single/t_far1/n40/seed{seed}/metrics.json").exists()
        assert (results / f"runs/tight/low/n40/seed{seed}/metrics.json").exists()
