"""The study on a real SLURM cluster through snakemake-executor-plugin-slurm, and the SLURM profiles.

Tests marked ``slurm`` bring up a one-node cluster on this machine (tests/slurm/up.sh: munged,
slurmctld, slurmd; root and apt-get needed) once per session and stop it at the end
(tests/slurm/down.sh). They are skipped where that is impossible, unless CI=true or
MTRL_REQUIRE_SLURM=1, where they fail instead. The unmarked tests need no cluster: the profiles' dry
runs on a machine without Slurm and the consistency of the profile copies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from workflow import REPO, SNAKEMAKE, job_counts, tiny_config

UP = REPO / "tests" / "slurm" / "up.sh"
DOWN = REPO / "tests" / "slurm" / "down.sh"
TEST_PROFILE = REPO / "tests" / "slurm" / "profile"
RUN_FILES = ("model.keras", "history.csv", "metrics.json")
# 2 multi-task runs (tight, loose) + 4 single-task runs (one per task of the tiny study)
SMALL = {"train_sizes": [40], "seeds": [1], "sharing": ["low"]}
SMALL_RUNS = [
    "runs/tight/low/n40/seed1",
    "runs/loose/low/n40/seed1",
    *(f"runs/single/{task}/n40/seed1" for task in ("t_target", "t_close1", "t_close2", "t_far1")),
]
TRAINING_RULES = ("train_multitask", "train_single_task")
SLURM_COMMANDS = {
    "sacct", "sacctmgr", "salloc", "sattach", "sbatch", "sbcast", "scancel", "scontrol", "sdiag",
    "sinfo", "sprio", "squeue", "sreport", "srun", "sshare", "sstat", "strigger", "sview",
    "slurmd", "slurmctld", "slurmdbd", "slurmstepd",
}  # fmt: skip
# "Job 4 has been submitted with SLURM jobid 3 (log: /tmp/.../rule_prepare_data/3.log)."
SUBMITTED = re.compile(r"Job (\S+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?$", re.M)
OOM = re.compile(r"oom-kill|Out Of Memory|exceeded memory limit", re.I)


# ---- helpers ------------------------------------------------------------------------------------------


def run(cmd: list[str], timeout: int, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd`` under ``timeout -k 10 <timeout>``; stdout and stderr together in ``.stdout``."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **kwargs.pop("env", {}))
    return subprocess.run(
        ["timeout", "-k", "10", str(timeout), *cmd],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout + 30,
        env=env,
        **kwargs,
    )


def snakemake(*args: str, config: Path, timeout: int = 300, check: bool = True, **kwargs):
    """snakemake in the repository with ``config``; unlocks the directory if it had to be killed."""
    proc = run([*SNAKEMAKE, *args, "--configfile", str(config)], timeout, **kwargs)
    if proc.returncode in (124, 137):  # timeout killed it: its lock stays behind
        run([*SNAKEMAKE, "--unlock", "--configfile", str(config)], 120)
        raise AssertionError(f"snakemake {' '.join(args)} timed out ({timeout} s):\n{proc.stdout[-6000:]}")
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


def on_slurm(tmp: Path, config: Path, *args: str, timeout: int = 300, profile: Path = TEST_PROFILE):
    """snakemake through the test cluster, with the sbatch logs in ``tmp/logs/slurm``."""
    args = (*args, "--profile", str(profile), "--slurm-logdir", str(tmp / "logs" / "slurm"))
    return snakemake(*args, config=config, timeout=timeout)


def prepare_locally(tmp: Path, config: Path) -> None:
    """Write the prepared data and the study's numerics without the cluster (seconds), so that a
    test submits only training."""
    targets = [str(tmp / "results" / name) for name in ("data/prepared.h5", "numerics.json")]
    snakemake(*targets, "--cores", "1", config=config, timeout=300)


def submissions(output: str) -> list[tuple[str, str, Path]]:
    """(snakemake job id, SLURM job id, sbatch log) of every job snakemake submitted."""
    return [(m[1], m[2], Path(m[3])) for m in SUBMITTED.finditer(output)]


def scontrol_job(jobid: str) -> dict[str, str]:
    """`scontrol show job` as a dict (finished jobs stay visible for MinJobAge=600 s)."""
    out = run(["scontrol", "-o", "show", "job", jobid], 30).stdout
    return dict(tok.split("=", 1) for tok in out.split() if "=" in tok)


def squeue_states(name: str) -> dict[str, str]:
    """SLURM job id -> state of the jobs of one snakemake run (the job name is the run's id)."""
    out = run(["squeue", "-h", "--states=all", "--name", name, "-o", "%i|%T"], 30).stdout
    return dict(line.split("|", 1) for line in out.split())


def rule_blocks(output: str, rule: str) -> list[str]:
    """The job descriptions of ``rule`` in a snakemake (dry) run's output."""
    return re.findall(rf"^\s*rule {rule}:\n(.*?)(?=^\s*$|^\S)", output, re.M | re.S)


def files_under(results: Path, *folders: str) -> set[str]:
    return {str(p.relative_to(results)) for f in folders for p in (results / f).rglob("*") if p.is_file()}


def _slurm_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("MTRL_REQUIRE_SLURM") == "1"


def _unavailable(reason: str):
    if _slurm_required():
        pytest.fail(f"{reason}; CI=true or MTRL_REQUIRE_SLURM=1 require the slurm tests to run")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node SLURM cluster on localhost for the session; every daemon is stopped at the end."""
    if os.geteuid() != 0:
        _unavailable("a local SLURM cluster needs root (tests/slurm/up.sh starts munged, slurmctld, slurmd)")
    start = time.monotonic()
    up = run(["bash", str(UP)], 600)
    if up.returncode != 0:
        run(["bash", str(DOWN)], 120)  # stop whatever did start
        if up.returncode in (3, 4, 5):  # no apt-get, another installation's slurm.conf, apt-get failed
            _unavailable(f"cannot set up a SLURM test cluster here: {up.stdout.strip()[-500:]}")
        pytest.fail(f"tests/slurm/up.sh failed ({up.returncode}):\n{up.stdout[-4000:]}")
    print(f"\nslurm cluster up in {time.monotonic() - start:.1f} s:\n{up.stdout}")
    pidfiles = ("/run/slurmctld.pid", "/run/slurmd.pid", "/run/munge/munged.pid")
    pids = {f: Path(f).read_text().strip() for f in pidfiles}
    try:
        yield {"pids": pids}
    finally:
        down = run(["bash", str(DOWN)], 120)
        left = [f"{f} ({pid})" for f, pid in pids.items() if Path(f"/proc/{pid}").exists()]
        assert down.returncode == 0 and not left, f"tests/slurm/down.sh left {left}:\n{down.stdout}"


# ---- on the cluster ------------------------------------------------------------------------------------


@pytest.mark.slurm
def test_study_runs_as_slurm_jobs_like_a_local_run(slurm_cluster, tmp_path):
    cluster, local = tmp_path / "slurm", tmp_path / "local"
    cluster.mkdir()
    local.mkdir()
    config = tiny_config(cluster, **SMALL)
    proc = on_slurm(cluster, config, timeout=600)
    counts = job_counts(proc.stdout)
    assert counts["train_multitask"] == 2 and counts["train_single_task"] == 4, counts
    subs = submissions(proc.stdout)
    # every job but the local target rule `all` was one SLURM job, with its own sbatch log
    by_rule = {}
    for _, jobid, log in subs:
        rule = re.search(r"/rule_(\w+?)/", str(log))[1]
        by_rule.setdefault(rule, []).append((jobid, log))
        assert log.name == f"{jobid}.log" and cluster / "logs" / "slurm" in log.parents, log
    expected = {rule: n for rule, n in counts.items() if rule not in ("all", "total")}
    assert {rule: len(jobs) for rule, jobs in by_rule.items()} == expected
    trained = set()
    for rule in TRAINING_RULES:
        for jobid, log in by_rule[rule]:
            text = log.read_text()
            run_dir = re.search(r"output: \S+/results/(runs/\S+)/model\.keras", text)[1]
            trained.add(run_dir)
            job = scontrol_job(jobid)
            assert job["JobState"] == "COMPLETED" and job["JobName"].startswith("mtrl_"), job
            assert job["Comment"].startswith(f"rule_{rule}_wildcards_") and job["StdOut"] == str(log), job
    assert trained == set(SMALL_RUNS)

    # the same study run locally: the same files, and the same numbers
    config_local = tiny_config(local, **SMALL)
    snakemake("--cores", "2", config=config_local, timeout=600)
    folders = ("runs", "tables", "logs/runs", "figures")
    assert files_under(cluster / "results", *folders) == files_under(local / "results", *folders)
    for run_dir in SMALL_RUNS:
        a = json.loads((cluster / "results" / run_dir / "metrics.json").read_text())["metrics"]
        b = json.loads((local / "results" / run_dir / "metrics.json").read_text())["metrics"]
        assert a == b, run_dir


@pytest.mark.slurm
def test_failed_job_is_retried_with_more_memory(slurm_cluster, tmp_path):
    config = tiny_config(tmp_path, **SMALL)
    prepare_locally(tmp_path, config)
    run_dir = tmp_path / "results" / SMALL_RUNS[0]
    # attempt 1 asks SLURM for 200 MB (snakemake alone needs more), the retry for 3000 MB
    proc = on_slurm(
        tmp_path, config, str(run_dir / "metrics.json"),
        "--set-resources", "train_multitask:mem_mb=200 if attempt == 1 else 3000",
    )  # fmt: skip
    subs = submissions(proc.stdout)
    assert len(subs) == 2 and subs[0][0] == subs[1][0], subs  # one snakemake job, submitted twice
    first, second = (scontrol_job(jobid) for _, jobid, _ in subs)
    assert first["MinMemoryNode"] == "200M" and first["JobState"] in ("OUT_OF_MEMORY", "FAILED"), first
    assert OOM.search(subs[0][2].read_text()), subs[0][2].read_text()[-3000:]
    assert "Trying to restart job" in proc.stdout
    assert second["MinMemoryNode"] == "3000M" and second["JobState"] == "COMPLETED", second
    assert all((run_dir / name).stat().st_size > 0 for name in RUN_FILES)


@pytest.mark.slurm
def test_a_group_of_seeds_is_one_slurm_job_asking_for_its_runs_memory_at_every_attempt(
    slurm_cluster, tmp_path
):
    """execution.replicates_per_job = 2: seeds 1 and 2 of a cell in one SLURM job, which asks for two
    runs' memory and runtime, the attempt's (one run: 100 MB, then 1500 MB on the retry)."""
    config = tiny_config(tmp_path, execution={"replicates_per_job": 2}, **SMALL | {"seeds": [1, 2]})
    prepare_locally(tmp_path, config)
    runs = [tmp_path / f"results/runs/tight/low/n40/seed{seed}" for seed in (1, 2)]
    proc = on_slurm(
        tmp_path, config, str(runs[1] / "metrics.json"),
        "--set-resources", "train_multitask:mem_mb=100 if attempt == 1 else 1500",
    )  # fmt: skip
    subs = submissions(proc.stdout)
    assert len(subs) == 2 and subs[0][0] == subs[1][0], subs  # one snakemake job, submitted twice
    first, second = (scontrol_job(jobid) for _, jobid, _ in subs)
    assert first["MinMemoryNode"] == "200M" and first["JobState"] in ("OUT_OF_MEMORY", "FAILED"), first
    assert second["MinMemoryNode"] == "3000M" and second["JobState"] == "COMPLETED", second
    assert second["TimeLimit"] == "02:00:00", second  # the rule's 60 min a run, twice
    assert second["Comment"].startswith("rule_train_multitask_seeds1_2_wildcards_"), second
    assert "trains seeds 1-2 of" in subs[1][2].read_text()
    for run_dir in runs:
        assert all((run_dir / name).stat().st_size > 0 for name in RUN_FILES), run_dir


@pytest.mark.slurm
def test_cancelled_run_leaves_no_partial_outputs_and_resumes(slurm_cluster, tmp_path):
    config = tiny_config(tmp_path, **SMALL)
    prepare_locally(tmp_path, config)
    results = tmp_path / "results"
    targets = [str(results / run_dir / "metrics.json") for run_dir in SMALL_RUNS]
    args = [*targets, "--profile", str(TEST_PROFILE), "--slurm-logdir", str(tmp_path / "logs/slurm")]
    log = tmp_path / "first-run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["timeout", "-k", "10", "300", *SNAKEMAKE, *args, "--configfile", str(config)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )  # fmt: skip
    try:
        # wait for the first finished run: the other runs are then queued or training
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any(Path(t).exists() for t in targets):
            assert proc.poll() is None, log.read_text()[-4000:]
            time.sleep(0.2)
    finally:
        # the login session is lost (snakemake killed, no clean-up) and the user cancels the jobs
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    run_id = re.search(r"SLURM run ID: (\S+)", log.read_text())[1]
    active = {j for j, s in squeue_states(run_id).items() if s in ("PENDING", "RUNNING", "CONFIGURING")}
    assert active, f"every job had finished before the run could be cancelled: {squeue_states(run_id)}"
    run(["scancel", "--name", run_id], 30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
        s in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING") for s in squeue_states(run_id).values()
    ):
        time.sleep(0.5)
    states = squeue_states(run_id)
    assert all(states[j] == "CANCELLED" for j in active if states.get(j) != "COMPLETED"), states

    finished = [r for r in SMALL_RUNS if (results / r / "metrics.json").exists()]
    unfinished = [r for r in SMALL_RUNS if r not in finished]
    assert finished and unfinished, (finished, unfinished)
    for run_dir in finished:  # metrics.json is written last: its run is whole
        assert all((results / run_dir / name).stat().st_size > 0 for name in RUN_FILES), run_dir
    before = {r: (results / r / "metrics.json").stat().st_mtime_ns for r in finished}

    snakemake("--unlock", config=config, timeout=120)
    dry = snakemake(*args, "-n", config=config, timeout=120).stdout
    counts = job_counts(dry)
    assert "prepare_data" not in counts
    assert counts.get("train_multitask", 0) + counts.get("train_single_task", 0) == len(unfinished), dry
    blocks = rule_blocks(dry, r"train_\w+")
    for run_dir in unfinished:
        block = [b for b in blocks if f"/results/{run_dir}/metrics.json" in b]
        assert len(block) == 1, (run_dir, dry)
        block = block[0]
        present = [n for n in RUN_FILES if (results / run_dir / n).exists()]
        # a run killed after writing some of its files is rerun as incomplete, never taken as done
        expected = "Incomplete output files" if present else "Missing output files"
        assert expected in block, block

    on_slurm(tmp_path, config, *targets, timeout=300)
    for run_dir in SMALL_RUNS:
        assert all((results / run_dir / name).stat().st_size > 0 for name in RUN_FILES), run_dir
    assert {r: (results / r / "metrics.json").stat().st_mtime_ns for r in finished} == before


@pytest.mark.slurm
def test_batched_training_runs_share_slurm_jobs(slurm_cluster, tmp_path):
    config = tiny_config(tmp_path, **SMALL)
    prepare_locally(tmp_path, config)
    results = tmp_path / "results"
    targets = [str(results / run_dir / "metrics.json") for run_dir in SMALL_RUNS]
    # the batching knob documented in profiles/slurm: 6 runs, 3 per SLURM job
    proc = on_slurm(
        tmp_path, config, *targets,
        "--groups", "train_multitask=train", "train_single_task=train", "--group-components", "train=3",
    )  # fmt: skip
    subs = submissions(proc.stdout)
    assert len(subs) == 2, subs
    batched: list[str] = []
    for _, jobid, log in subs:
        assert log.parent.name.startswith("group_train") and log.name == f"{jobid}.log", log
        assert scontrol_job(jobid)["JobState"] == "COMPLETED"
        runs = set(re.findall(r"output: \S+/results/(runs/\S+)/model\.keras", log.read_text()))
        assert len(runs) == 3, log.read_text()[-3000:]
        batched += runs
    assert sorted(batched) == sorted(SMALL_RUNS)  # each run in exactly one of the two jobs
    for run_dir in SMALL_RUNS:
        assert all((results / run_dir / name).stat().st_size > 0 for name in RUN_FILES), run_dir


@pytest.mark.slurm
def test_gpu_profile_asks_one_gpu_per_training_job(slurm_cluster, tmp_path):
    node = run(["scontrol", "-o", "show", "node"], 30).stdout
    if "gpu:" not in node:
        pytest.skip("the test cluster advertises no GPU (SLURM_FAKE_GPUS=0)")
    config = tiny_config(tmp_path, **SMALL)
    prepare_locally(tmp_path, config)
    results = tmp_path / "results"
    targets = [str(results / run_dir / "metrics.json") for run_dir in SMALL_RUNS[:2]]
    # profiles/slurm-gpu as it is, but for the site-specific keys (partition, account, polling)
    proc = on_slurm(
        tmp_path, config, *targets,
        "--default-resources", "slurm_partition=debug", "mem_mb=1000", "runtime=10", "cpus_per_task=threads",
        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs",
        # batched, both runs in one job: which must still ask for one GPU, not one per run
        "--groups", "train_multitask=train", "--group-components", "train=2",
        profile=REPO / "profiles" / "slurm-gpu",
    )  # fmt: skip
    subs = submissions(proc.stdout)
    assert len(subs) == 1, subs
    job = scontrol_job(subs[0][1])
    # one GPU for the job (Slurm 22 writes gres:gpu:1, later versions gres/gpu:1)
    assert job["JobState"] == "COMPLETED" and re.fullmatch(r"gres[:/]gpu:1", job.get("TresPerJob", "")), job
    log = subs[0][2].read_text()
    assert "gpu=1" in log and len(re.findall(r"rule train_multitask:", log)) >= 2, log[-3000:]
    for target in targets:
        assert all((Path(target).parent / name).stat().st_size > 0 for name in RUN_FILES)


# ---- without a cluster ---------------------------------------------------------------------------------


def _path_without_slurm(tmp_path: Path) -> str:
    """A PATH with every command of this one but the Slurm ones: a machine without Slurm."""
    farm = tmp_path / "bin"
    farm.mkdir()
    seen = set(SLURM_COMMANDS)
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            if entry.name not in seen and os.access(entry.path, os.X_OK):
                seen.add(entry.name)
                (farm / entry.name).symlink_to(entry.path)
    return str(farm)


@pytest.mark.workflow
@pytest.mark.parametrize("profile", ["profiles/slurm", "profiles/slurm-gpu"])
def test_slurm_profile_dry_run_without_slurm(profile, tmp_path):
    path = _path_without_slurm(tmp_path)
    assert all(shutil.which(cmd, path=path) is None for cmd in ("sinfo", "sbatch", "squeue", "sacct"))
    config = tiny_config(tmp_path, **SMALL)
    proc = snakemake("-n", "--profile", profile, config=config, timeout=120, env={"PATH": path})
    counts = job_counts(proc.stdout)
    assert counts["train_multitask"] == 2 and counts["train_single_task"] == 4, counts
    for rule in TRAINING_RULES:
        blocks = rule_blocks(proc.stdout, rule)
        assert len(blocks) == counts[rule]
        for block in blocks:
            resources = re.search(r"resources: (.*)", block)[1]
            # the attempt-1 values of the profile's attempt-scaled expressions, and the placeholders
            for item in ("mem_mb=3000", "runtime=60", "slurm_partition=EDIT_ME_partition"):
                assert item in resources.split(", "), resources
            assert ("gpu=1" in resources.split(", ")) == profile.endswith("-gpu"), resources


# "trains seeds 1-4 of <results>/runs/tight/low/n40 in one job (4 runs; threads 2; mem_mb=12000, ...)"
GROUP_JOB = re.compile(
    r"trains (seeds? [\d-]+) of \S+/runs/(\S+) in one job \((\d+) runs; threads (\d+); (.*)\)"
)


@pytest.mark.workflow
@pytest.mark.parametrize("profile", ["profiles/slurm", "profiles/slurm-gpu"])
def test_a_group_job_asks_for_its_runs_memory_and_runtime_and_one_runs_threads_and_gpu(profile, tmp_path):
    """execution.replicates_per_job > 1: the profile's values for train_multitask/train_single_task are
    one run's; a group rule's job multiplies memory and runtime by its runs, keeps threads and GPU."""
    config = tiny_config(tmp_path, execution={"replicates_per_job": 4}, **{**SMALL, "seeds": [1, 2, 3, 4, 5]})
    out = snakemake("-n", "--profile", profile, config=config, timeout=120).stdout
    jobs = GROUP_JOB.findall(out)
    assert len(jobs) == 2 * 6, out[-3000:]  # 2 groups of each multi-task cell and single-task pair
    gpu = ", gpu=1" if profile.endswith("-gpu") else ""
    for words, _, runs, threads, resources in jobs:
        n = int(runs)
        assert (words, n) in (("seeds 1-4", 4), ("seed 5", 1)) and threads == "2"
        assert resources == f"mem_mb={3000 * n}, runtime={60 * n}{gpu}", resources
    # a run's value set on the command line (which replaces the profile's set-resources) scales too;
    # a group rule's own value wins outright
    out = snakemake(
        "-n", "--profile", profile,
        "--set-resources", "train_multitask:mem_mb=1000 * attempt", "train_single_task_seed5:runtime=7",
        config=config, timeout=120,
    ).stdout  # fmt: skip
    jobs = {
        (run.split("/")[0], words): (threads, res) for words, run, _, threads, res in GROUP_JOB.findall(out)
    }
    assert jobs[("tight", "seeds 1-4")] == jobs[("loose", "seeds 1-4")] == ("2", "mem_mb=4000, runtime=240")
    assert jobs[("single", "seeds 1-4")] == ("2", "mem_mb=12000, runtime=240")  # the rule's own
    assert jobs[("single", "seed 5")] == ("2", "mem_mb=3000, runtime=7")


def _profile(path: str) -> dict:
    return yaml.safe_load((REPO / path / "config.yaml").read_text())


def test_gpu_profile_is_the_slurm_profile_plus_one_gpu_per_training_job():
    cpu, gpu = _profile("profiles/slurm"), _profile("profiles/slurm-gpu")
    assert set(gpu) - set(cpu) == {"resources", "set-resource-scopes"} and set(cpu) <= set(gpu)
    assert {k: v for k, v in gpu.items() if k in cpu and k != "set-resources"} == {
        k: v for k, v in cpu.items() if k != "set-resources"
    }
    assert gpu["set-resources"] == {rule: {**res, "gpu": 1} for rule, res in cpu["set-resources"].items()}
    assert gpu["resources"] == {"gpu": 1} and gpu["set-resource-scopes"] == {"gpu": "local"}


def test_slurm_profile_scales_training_resources_with_the_attempt():
    profile = _profile("profiles/slurm")
    assert profile["executor"] == "slurm" and profile["retries"] >= 1
    for rule in TRAINING_RULES:
        res = profile["set-resources"][rule]
        assert "attempt" in res["mem_mb"] and "attempt" in res["runtime"], res


def test_test_profile_is_the_slurm_profile_but_for_the_test_cluster():
    real, test = _profile("profiles/slurm"), _profile("tests/slurm/profile")
    differs = {"default-resources", "set-threads"}  # site values: partition, no account, 2 CPUs
    test_only = {
        "slurm-status-command",
        "slurm-init-seconds-before-status-checks",
        "seconds-between-status-checks",
        "slurm-keep-successful-logs",
    }
    assert set(test) - set(real) == test_only and set(real) <= set(test)
    assert {k: v for k, v in real.items() if k not in differs} == {
        k: v for k, v in test.items() if k in real and k not in differs
    }
    assert test["slurm-status-command"] == "squeue"
    assert test["default-resources"]["slurm_partition"] == "debug"
    assert set(test["default-resources"]) == set(real["default-resources"]) - {"slurm_account"}


def test_resolve_numerics_gets_the_threads_and_device_of_the_training_jobs():
    """Its calibration measures what the training jobs get: their threads, and a GPU where they have one."""
    for path in ("profiles/slurm", "profiles/slurm-gpu", "tests/slurm/profile"):
        threads = _profile(path)["set-threads"]
        assert threads["resolve_numerics"] == threads["train_multitask"] == threads["train_single_task"], path
    gpu = _profile("profiles/slurm-gpu")["set-resources"]
    assert gpu["resolve_numerics"]["gpu"] == gpu["train_multitask"]["gpu"] == 1
