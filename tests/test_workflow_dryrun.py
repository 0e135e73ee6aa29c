"""Dry runs: job counts and configuration errors, before any training."""

import pytest

from mtrl.config import load_config, study_seeds
from workflow import REPO, job_counts, snakemake, tiny, tiny_config

pytestmark = pytest.mark.workflow

DATA = tiny()["data"]
# the tiny study with a task "t close1" beside "t_close1": both would be written as t_close1
CLOSE_TWINS = {
    "couplings": {"tight": ["t_target", "t close1", "t_close1"], "loose": ["t_target", "t_far1"]},
    "data": {
        **DATA,
        "synthetic": {
            **DATA["synthetic"],
            "tasks": {**DATA["synthetic"]["tasks"], "t close1": {"kind": "binary", "rho": 0.9}},
        },
    },
}


def test_default_config_expands_the_full_grid(tmp_path):
    out = snakemake("-n", "--cores", "2", "--config", f"results={tmp_path}/results").stdout
    counts = job_counts(out)
    config = load_config(REPO / "config.yaml")
    # a seeds rule: its initial seeds, in jobs of execution.replicates_per_job (the schema's 4)
    seeds, per_job = study_seeds(config), config["execution"]["replicates_per_job"]
    assert (seeds, per_job) == ([1, 2, 3, 4], 4)
    n = len(config["train_sizes"])
    assert counts["train_multitask_seeds1_4"] == len(config["couplings"]) * len(config["sharing"]) * n
    tasks = {t for members in config["couplings"].values() for t in members}
    assert counts["train_single_task_seeds1_4"] == len(tasks) * n
    for rule in (
        "prepare_data",
        "resolve_numerics",
        "task_correlations",
        "collect_runs",
        "summarise",
        "compare",
        "plot_learning_curves",
        "plot_training_size",
        "plot_gain_heatmap",
        "plot_task_correlations",
    ):
        assert counts[rule] == 1, rule


def test_tiny_config_counts(tmp_path):
    counts = job_counts(snakemake("-n", "--cores", "2", "--configfile", str(tiny_config(tmp_path))).stdout)
    assert counts["train_multitask"] == 2 * 3 * 2 * 2
    assert counts["train_single_task"] == 4 * 2 * 2


def test_single_task_networks_add_the_targets_networks_per_seed_and_size(tmp_path):
    """replicates.single_task_networks: 3 -> networks 1 and 2 of the target's baseline of every seed
    and size, one job each, or one job per seed group; one of them asked for by path alone."""
    replicates = {**tiny()["replicates"], "single_task_networks": 3}
    config = tiny_config(tmp_path, replicates=replicates)
    counts = job_counts(snakemake("-n", "--cores", "2", "--configfile", str(config)).stdout)
    assert counts["train_single_task_network"] == 2 * 2 * 2  # sizes x seeds x networks 1, 2
    assert counts["train_single_task"] == 4 * 2 * 2  # every task's network 0, as before
    target = tmp_path / "results/runs/single/t_target/n40/seed2_net2/metrics.json"
    alone = job_counts(snakemake(str(target), "-n", "--cores", "2", "--configfile", str(config)).stdout)
    assert alone == {"prepare_data": 1, "resolve_numerics": 1, "train_single_task_network": 1, "total": 3}
    grouped = tiny_config(tmp_path, replicates=replicates, execution={"replicates_per_job": 2})
    counts = job_counts(snakemake("-n", "--cores", "2", "--configfile", str(grouped)).stdout)
    assert counts["train_single_task_networks_seeds1_2"] == 2  # one job per size: 2 seeds x 2 networks


def test_architectures_config_sweeps_presets_architectures_and_weightings(tmp_path):
    """configs/architectures.yaml: one run path per (coupling, sharing entry, size, seed), the
    architectures' paths and those with a loss weighting beside the preset's."""
    out = snakemake(
        "-n",
        "--cores",
        "2",
        "--configfile",
        "configs/architectures.yaml",
        "--config",
        f"results={tmp_path}/r",
    ).stdout
    config = load_config(REPO / "configs/architectures.yaml")
    n = len(config["train_sizes"])  # seeds 1 and 2: one job of each cell (replicates_per_job 4)
    assert config["seeds"] == [1, 2] and config["execution"]["replicates_per_job"] == 4
    assert config["sharing"] == [
        "low",
        "high",
        "low+uw",
        "low+upgrad",
        "cross_stitch",
        "mmoe",
        "mmoe+uw",
        "ple",
    ]
    counts = job_counts(out)
    assert counts["train_multitask_seeds1_2"] == len(config["couplings"]) * 8 * n
    assert counts["train_single_task_seeds1_2"] == 5 * n
    for sharing in config["sharing"]:
        assert f"{tmp_path}/r/runs/loose/{sharing}/n200/seed2/metrics.json" in out, sharing


def test_one_run_by_path_needs_only_that_run(tmp_path):
    config = tiny_config(tmp_path)
    target = tmp_path / "results/runs/tight/interspersed/n40/seed2/metrics.json"
    counts = job_counts(snakemake(str(target), "-n", "--cores", "2", "--configfile", str(config)).stdout)
    # ... and the study's numerics, resolved once (its precision is every run's)
    assert counts == {"prepare_data": 1, "resolve_numerics": 1, "train_multitask": 1, "total": 3}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"couplings": {"tight": ["t_target", "t_nope"]}},
            "unknown task 't_nope'; available tasks: t_target",
        ),
        ({"sharing": ["low", "medium"]}, "unknown preset 'medium'; available presets:"),
        ({"train_sizes": [40, 100000]}, "train_sizes: 100000 is larger than the training split (240 rows)"),
        (
            {"target": "t_far1", "couplings": {"tight": ["t_target", "t_close1"]}},
            "does not contain the target task 't_far1'",
        ),
        ({"sharing_presets": {"mine": [1, 1]}}, "has 2 entries but model.widths has 4"),
        ({"seeds": "one"}, "seeds"),
        ({"learning_rate": 0.1}, "learning_rate"),
        (
            CLOSE_TWINS,
            "invalid configuration: tasks 't close1' (couplings.tight) and 't_close1' (couplings.tight) "
            "share the file name 't_close1'",
        ),
        (
            {"sharing": ["low", "ple"], "architectures": {"ple": {"levels": 5}}},
            "invalid configuration: architectures.ple.levels = 5: each level needs at least one expert layer",
        ),
        (
            {"sharing": ["mmoe"], "architectures": {"mmoe": {"levels": 2}}},
            "invalid configuration: architectures.mmoe: unknown key 'levels'; allowed keys: experts, "
            "expert_widths, expert_dropout (did you mean architectures.ple.levels?)",
        ),
        (
            {"data": {**DATA, "split": {"val_fraction": 0.6, "test_fraction": 0.6, "seed": 0}}},
            "invalid configuration: data.split: val_fraction 0.6 + test_fraction 0.6 = 1.2 leaves no "
            "training split; the two must sum to less than 1",
        ),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, overrides, message):
    proc = snakemake(
        "-n", "--cores", "2", "--configfile", str(tiny_config(tmp_path, **overrides)), check=False
    )
    assert proc.returncode != 0
    assert message in proc.stdout, proc.stdout[-3000:]
    assert "train_multitask" not in proc.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"couplings": {}}, "couplings: {} has 0 entries, at least 1 needed; allowed: 'auto' or mapping of"),
        (
            {"couplings": {"t close": ["t_target", "t_far1"]}},
            "couplings: 't close' does not match '^[A-Za-z][A-Za-z0-9_]*$' (as a name); allowed: 'auto' or",
        ),
        ({"nope": 1}, "config: unknown key 'nope'; allowed keys: results, target, couplings,"),
    ],
)
def test_a_schema_error_is_one_line_without_the_schema(tmp_path, overrides, message):
    proc = snakemake(
        "-n", "--cores", "1", "--configfile", str(tiny_config(tmp_path, **overrides)), check=False
    )
    assert proc.returncode != 0
    assert f"invalid configuration: {message}" in proc.stdout, proc.stdout[-3000:]
    for schema_text in ("Failed validating", "additionalProperties", "not valid under any", "description"):
        assert schema_text not in proc.stdout, proc.stdout[-3000:]
    assert len(proc.stdout.splitlines()) < 12, proc.stdout


def test_a_preset_sharing_no_layer_is_warned_about_and_runs(tmp_path):
    proc = snakemake(
        "-n", "--cores", "1", "--configfile", str(tiny_config(tmp_path, sharing=["low", "none"]))
    )
    assert (
        "sharing: preset 'none' = [0, 0, 0, 0] shares no layer: its multi-task runs are single-task"
        in proc.stdout
    )
    assert job_counts(proc.stdout)["train_multitask"] == 2 * 2 * 2 * 2
