"""The per-run lock: one training job per run at a time, a clear stop for the second one."""

import os
import signal
import subprocess
import sys
import time

import pytest

from mtrl import runlock
from mtrl.runlock import RunLockedError, lock_path, run_lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOLDER = """
import sys, time
from mtrl.runlock import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def holder(tmp_path):
    """Start a process that holds the lock of a run folder for some seconds; yield the starter."""
    procs = []

    def start(run_dir, seconds):
        env = dict(os.environ, PYTHONPATH=REPO)
        command = [sys.executable, "-c", HOLDER, str(run_dir), str(seconds)]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_lock_is_taken_and_its_file_removed_after(tmp_path):
    run_dir = tmp_path / "runs/tight/low/n40/seed1"
    with run_lock(run_dir) as path:
        assert path == lock_path(run_dir) and path.exists()
        assert f"pid {os.getpid()} on " in path.read_text()
    assert not path.exists()


def test_second_job_of_a_run_waits_for_the_first(tmp_path, holder):
    run_dir = tmp_path / "run"
    holder(run_dir, 1.0)
    t0 = time.monotonic()
    with run_lock(run_dir, wait=30):
        waited = time.monotonic() - t0
    assert 0.5 < waited < 20


def test_second_job_stops_past_the_wait_naming_run_and_holder(tmp_path, holder):
    run_dir = tmp_path / "run"
    proc = holder(run_dir, 60)
    with pytest.raises(RunLockedError) as err, run_lock(run_dir, wait=0.3):
        pytest.fail("the lock was taken twice")
    message = str(err.value)
    assert str(run_dir) in message and f"pid {proc.pid} on " in message
    assert "let it finish or kill that process, then rerun" in message


def test_a_killed_holder_leaves_no_stale_lock(tmp_path, holder):
    run_dir = tmp_path / "run"
    proc = holder(run_dir, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lock_path(run_dir).exists()  # left behind by the killed holder, but not locked
    with run_lock(run_dir, wait=0):
        assert f"pid {os.getpid()} on " in lock_path(run_dir).read_text()


def test_the_training_job_holds_its_runs_lock(tmp_path, monkeypatch):
    from mtrl.job import run_job

    monkeypatch.setattr(runlock, "DEFAULT_WAIT", 0.2)
    run_dir = tmp_path / "runs/loose/low/n40/seed1"
    outputs = {name: str(run_dir / name) for name in ("model.keras", "history.csv", "metrics.json")}
    # flock locks of two open files conflict within one process too: the job finds the run locked
    # before it reads any data (the data path does not even exist)
    with run_lock(run_dir), pytest.raises(RunLockedError, match="runs/loose/low/n40/seed1"):
        run_job(
            data_path=str(tmp_path / "absent.h5"),
            spec={},
            model_path=outputs["model.keras"],
            history_path=outputs["history.csv"],
            metrics_path=outputs["metrics.json"],
            backend="torch",
        )
