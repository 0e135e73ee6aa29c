"""The fault suite: a study survives kills, a full disk and a second study, and reruns to the same metrics.

Each scenario runs a small study of ``tests/data/tiny.yaml`` (six runs) through snakemake, breaks
it (``kill -9`` of a training job, of snakemake or of the warm worker mid-study, a results folder
on a full file system), checks that every output present is complete, reruns, and compares every
``metrics.json`` with a clean run's, timing fields aside. Kills wait for a condition (a job that
trains, seen in its log and in ``/proc``), never a fixed time. The scenarios share one warm
worker in a folder of their own (stopped at the end), so that they also show which server ran
which job.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from functools import partial
from pathlib import Path

import h5py
import pytest
from processes import PROC, alive, children, wait_for

from mtrl.runlock import LOCK_NAME, run_lock
from mtrl.worker import SOCKET_PATH_MAX
from workflow import REPO, SNAKEMAKE, snakemake, tiny, tiny_config

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        not (PROC / "self" / "stat").exists(), reason="finds and kills processes through /proc"
    ),
]

TIMING = {"training_seconds", "total_seconds", "setup_seconds", "evaluation_seconds", "saving_seconds"}
# two multi-task and four single-task runs of about a second each: long enough to catch one
# training, short enough for a study in seconds
STUDY = {
    "train_sizes": [120],
    "seeds": [1],
    "sharing": ["low"],
    "training": {**tiny()["training"], "batch_size": 4, "max_epochs": 20, "patience": 20},
}
CHILD_LINE = re.compile(r"warm worker child (\d+) \(server (\d+)\)")
OUTPUTS = ("model.keras", "history.csv", "metrics.json")
SOCKET_NAME_MAX = 43  # "/<host, 20 at most>-<16 hex digits>.sock"


def run_dirs(results: Path) -> list[Path]:
    """The output folder of every run of :data:`STUDY` under ``results``."""
    config = tiny(**STUDY)
    n, seed = config["train_sizes"][0], config["seeds"][0]
    tasks = sorted({task for members in config["couplings"].values() for task in members})
    folders = [f"runs/{c}/{s}/n{n}/seed{seed}" for c in config["couplings"] for s in config["sharing"]]
    folders += [f"runs/single/{task}/n{n}/seed{seed}" for task in tasks]
    return [results / folder for folder in folders]


def targets(results: Path) -> list[str]:
    return [str(folder / "metrics.json") for folder in run_dirs(results)]


def study_config(tmp: Path, results: Path | None = None) -> tuple[Path, Path]:
    """The study's config in ``tmp`` (results in ``results``, default ``tmp/results``)."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tiny_config(tmp, **STUDY)
    if results is not None:
        text = config.read_text().replace(str(tmp / "results"), str(results))
        config.write_text(text)
    return config, results or tmp / "results"


def start(config: Path, results: Path, log: Path) -> subprocess.Popen:
    """Start snakemake on the study's runs (in its own session); its output goes to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [*SNAKEMAKE, *targets(results), "--cores", "2", "--configfile", str(config)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish(proc: subprocess.Popen, log: Path, timeout: float = 300) -> tuple[int, str]:
    """Wait for ``proc``; its exit status and output."""
    try:
        code = proc.wait(timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return code, log.read_text(errors="replace")


def run_study(config: Path, results: Path, unlock: bool = False) -> str:
    """Run the study to its end (after ``snakemake --unlock`` with ``unlock``); its output."""
    if unlock:  # a killed snakemake leaves its lock
        snakemake("--unlock", "--configfile", str(config))
    return snakemake(*targets(results), "--cores", "2", "--configfile", str(config)).stdout


def training_jobs(results: Path) -> list[tuple[Path, int, int]]:
    """``(run log, job pid, server pid)`` of every job that trains now in a warm worker.

    A job counts until it writes its first output (``history.csv``), well before it ends.
    """
    found = []
    for log in sorted((results / "logs" / "runs").rglob("*.log")):
        match = CHILD_LINE.search(log.read_text(errors="replace"))
        if match and alive(int(match[1])) and not (run_of(results, log) / "history.csv").exists():
            found.append((log, int(match[1]), int(match[2])))
    return found


def run_of(results: Path, log: Path) -> Path:
    """The output folder of the run whose log is ``log``."""
    return results / "runs" / log.relative_to(results / "logs" / "runs").with_suffix("")


def mid_study(results: Path, proc: subprocess.Popen) -> list[tuple[Path, int, int]]:
    """Wait until a run has finished and another trains; the jobs that train."""

    def condition():
        assert proc.poll() is None, "the study ended before it could be broken"
        done = any((folder / "metrics.json").exists() for folder in run_dirs(results))
        return done and training_jobs(results)

    return wait_for(condition, 240, "a finished run and a training job")


def kill_a_training_job(results: Path, proc: subprocess.Popen, worker: Path) -> Path:
    """``kill -9`` a job that trains mid-study; the log of its run.

    The worker's log tells whether the kill ended the job (a job that has just ended, not yet
    reaped, ignores it): if not, another job is taken.
    """
    while True:
        for log, job, _ in mid_study(results, proc):
            try:
                os.kill(job, signal.SIGKILL)
            except ProcessLookupError:
                continue
            if wait_for(partial(_end_status, worker, job), 60, f"job {job} to end") == str(-signal.SIGKILL):
                return log


def _end_status(worker: Path, job: int) -> str | None:
    """The exit status of ``job`` as its warm worker logged it, once it has."""
    ended = re.compile(rf"child {job} ended with status (-?\d+)")
    for path in worker.glob("*.log"):
        found = ended.search(path.read_text(errors="replace"))
        if found:
            return found[1]
    return None


def leftovers(results: Path) -> list[Path]:
    """Temporary files of outputs and run locks under ``results``."""
    names = (*OUTPUTS, "prepared.h5")
    return [
        path
        for path in results.rglob(".*")
        if path.name == LOCK_NAME or any(path.name.startswith(f".{name}.") for name in names)
    ]


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING}
    return obj


def metrics(results: Path) -> dict[str, dict]:
    """Every run's ``metrics.json`` under ``results`` (timing fields aside), by run folder."""
    return {
        str(path.parent.relative_to(results)): without_timing(json.loads(path.read_text()))
        for path in sorted((results / "runs").rglob("metrics.json"))
    }


def assert_nothing_half_written(results: Path, reference: dict[str, dict]) -> None:
    """Every output present under its final name is complete: what a rerun may keep is whole."""
    for run, doc in metrics(results).items():
        assert doc == reference[run], f"{run}/metrics.json differs from the clean run's"
    for path in (results / "runs").rglob("model.keras"):
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None, path
    for path in (results / "runs").rglob("history.csv"):
        lines = path.read_text().splitlines()
        assert lines[0].startswith("epoch,") and len(lines) > 1, path
    prepared = results / "data" / "prepared.h5"
    if prepared.exists():
        with h5py.File(prepared, "r") as f:
            assert len(f.keys()) > 0


def assert_like_a_clean_run(results: Path, reference: dict[str, dict]) -> None:
    assert metrics(results) == reference
    assert_nothing_half_written(results, reference)
    assert not [p for p in leftovers(results) if p.name == LOCK_NAME], "a run lock outlived its job"
    for folder in run_dirs(results):
        assert all((folder / name).exists() for name in OUTPUTS), folder


@pytest.fixture(scope="module", autouse=True)
def worker(tmp_path_factory):
    """A warm-worker folder of this module's own (its servers stopped at the end)."""
    directory = tmp_path_factory.mktemp("worker")
    short = len(os.fsencode(directory)) + SOCKET_NAME_MAX <= SOCKET_PATH_MAX  # a socket path must be
    if not short:
        directory = Path(tempfile.mkdtemp(prefix="mtrl-faults-", dir="/tmp"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTRL_WORKER_DIR", str(directory))
        mp.setenv("MTRL_WORKER", "on")
        yield directory
        stop = [sys.executable, "-m", "mtrl.worker", "stop", "--now"]
        subprocess.run(stop, cwd=REPO, timeout=60, capture_output=True)
    if not short:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, worker) -> Path:
    """The results folder of the study run once without a fault."""
    config, results = study_config(tmp_path_factory.mktemp("clean"))
    run_study(config, results)
    return results


@pytest.fixture(scope="module")
def reference(clean) -> dict[str, dict]:
    """The clean study's metrics (timing fields aside), by run folder."""
    found = metrics(clean)
    assert sorted(found) == sorted(str(f.relative_to(clean)) for f in run_dirs(clean))
    return found


def test_kill_9_of_a_training_job(tmp_path, reference, worker):
    """The job fails, the others finish (keep-going); the rerun trains what is missing."""
    config, results = study_config(tmp_path)
    proc = start(config, results, tmp_path / "snakemake.log")
    log = kill_a_training_job(results, proc, worker)
    code, output = finish(proc, tmp_path / "snakemake.log")
    run = run_of(results, log)
    assert code != 0 and "Error in rule train_" in output, (log, output)
    assert not (run / "metrics.json").exists()
    assert_nothing_half_written(results, reference)
    run_study(config, results)
    assert_like_a_clean_run(results, reference)


def test_kill_9_of_snakemake(tmp_path, reference):
    """Its jobs stop; after ``--unlock`` the rerun (rerun-incomplete) finishes the study."""
    config, results = study_config(tmp_path)
    proc = start(config, results, tmp_path / "snakemake.log")
    jobs = mid_study(results, proc)
    clients = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # its jobs stop too: an immediate rerun must not train a run beside a job left over
    left = clients + [job for _, job, _ in jobs]  # train.py clients, the worker's children
    wait_for(lambda: not any(alive(pid) for pid in left), 30, f"the orphaned jobs {left} to stop")
    assert_nothing_half_written(results, reference)
    run_study(config, results, unlock=True)
    assert_like_a_clean_run(results, reference)


def test_jobs_of_a_killed_snakemake_stop_at_once(tmp_path):
    """Issue 14, 8c: a job left running would train its run beside the rerun's job."""
    slow = {**STUDY["training"], "batch_size": 2, "max_epochs": 500, "patience": 500}  # minutes
    config = tiny_config(tmp_path, train_sizes=[240], training=slow)
    run = tmp_path / "results/runs/loose/low/n240/seed1"
    log = tmp_path / "results/logs/runs/loose/low/n240/seed1.log"
    with open(tmp_path / "snakemake.log", "w") as out:
        proc = subprocess.Popen(
            [*SNAKEMAKE, str(run / "metrics.json"), "--cores", "1", "--configfile", str(config)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    match = wait_for(lambda: log.exists() and CHILD_LINE.search(log.read_text()), 240, "the job to train")
    left = [*children(proc.pid), int(match[1])]  # the job's client (train.py) and the worker's child
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: not any(alive(pid) for pid in left), 20, f"the orphaned processes {left} to stop")
    finally:
        for pid in filter(alive, left):
            os.kill(pid, signal.SIGKILL)
    assert f"the process that started this job (pid {proc.pid}, " in log.read_text()
    assert not (run / "metrics.json").exists()
    # a rerun's job of the same run starts within seconds (the orphan trained on for minutes);
    # a few seconds of grace for a loaded machine, where the lock was once seen released late
    with run_lock(run, wait=15):
        pass


def test_kill_9_of_the_warm_worker(tmp_path, reference):
    """Its running jobs fail (they die with it), later jobs start a new server; the rerun finishes."""
    config, results = study_config(tmp_path)
    proc = start(config, results, tmp_path / "snakemake.log")
    _, job, server = mid_study(results, proc)[0]
    os.kill(server, signal.SIGKILL)
    code, output = finish(proc, tmp_path / "snakemake.log")
    assert not alive(job) and not alive(server)
    assert code != 0 and "ended while it ran the job" in output
    assert_nothing_half_written(results, reference)
    run_study(config, results)
    assert_like_a_clean_run(results, reference)


def test_two_studies_at_once_share_one_worker(tmp_path, reference):
    """Two results folders, one machine, one server: both studies complete, a rerun has nothing to do."""
    studies = [study_config(tmp_path / name) for name in ("a", "b")]
    procs = [start(config, results, results.parent / "snakemake.log") for config, results in studies]
    for proc, (_, results) in zip(procs, studies, strict=True):
        code, output = finish(proc, results.parent / "snakemake.log")
        assert code == 0, output[-4000:]
    servers = set()
    for config, results in studies:
        assert_like_a_clean_run(results, reference)
        for log in (results / "logs" / "runs").rglob("*.log"):
            servers.add(CHILD_LINE.search(log.read_text())[2])
        assert "Nothing to be done" in run_study(config, results)
    assert len(servers) == 1, f"the two studies used the servers {servers}"


@pytest.fixture
def small_filesystem(tmp_path):
    """A 16 MiB tmpfs mounted in ``tmp_path`` (root only), unmounted after."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs for the full-disk case needs root and mount(8)")
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def _footprint(paths: list[Path], block: int = 4096) -> int:
    """Bytes that files take on a tmpfs (whole pages)."""
    return sum(-(-p.stat().st_size // block) * block for p in paths if p.is_file())


def test_full_disk(tmp_path, clean, reference, small_filesystem):
    """Jobs that cannot write fail and leave nothing; with room again the rerun finishes the study."""
    config, results = study_config(tmp_path / "config", results=small_filesystem / "results")
    # room for the prepared data and about two and a half runs: the disk fills mid-study
    runs = [p for p in (clean / "runs").rglob("*") if p.is_file()] + list((clean / "logs").rglob("*.log"))
    room = _footprint(list((clean / "data").iterdir())) + 2.5 * _footprint(runs) / len(run_dirs(clean))
    free = os.statvfs(small_filesystem)
    filler = small_filesystem / "filler"
    filler.write_bytes(b"\0" * int(free.f_bavail * free.f_frsize - room - 64 * 1024))
    proc = start(config, results, tmp_path / "snakemake.log")
    code, output = finish(proc, tmp_path / "snakemake.log")
    assert code != 0 and "No space left on device" in output, output[-4000:]
    done = metrics(results)
    assert 0 < len(done) < len(reference), "the disk did not fill mid-study"
    assert_nothing_half_written(results, reference)
    assert leftovers(results) == []  # the failed writes cleaned up after themselves
    filler.unlink()  # room again
    run_study(config, results)
    assert_like_a_clean_run(results, reference)
