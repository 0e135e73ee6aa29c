"""A job whose starter (snakemake) is killed stops instead of training on as an orphan."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import alive, wait_for

from mtrl.orphans import ORPHANED_STATUS, command_of, orphaned, parent_of, starter_chain

REPO = Path(__file__).resolve().parents[1]
JOB = """
import os, sys, time
from mtrl.orphans import watch_starter
watch_starter(log=sys.argv[1], interval=0.05)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(60)
"""
# the starter runs the job directly, or through a shell that stays between them (as older bash
# versions, other shells or a conda activation do)
STARTER = """
import subprocess, sys, time
job = [sys.executable, "-c", sys.argv[1], *sys.argv[2:]]
if sys.argv[-1] == "shell":
    job = ["bash", "-c", 'status=0; "$@" || status=$?; exit $status', "bash", *job]
subprocess.Popen(job)
time.sleep(120)
"""


@pytest.fixture
def started_job(tmp_path):
    """Start ``starter -> [bash ->] job``; yield ``(starter, job pid, job log)``; clean up after."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see processes")
    started = []

    def start(how: str):
        log, pid_file = tmp_path / f"{how}.log", tmp_path / f"{how}.pid"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        command = [sys.executable, "-c", STARTER, JOB, str(log), str(pid_file), how]
        starter = subprocess.Popen(command, env=env, start_new_session=True)
        started.append(starter)
        wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "the job to start")
        job = int(pid_file.read_text())
        started.append(job)
        return starter, job, log

    yield start
    for item in started:
        if isinstance(item, int):
            if alive(item):
                os.kill(item, signal.SIGKILL)
        elif item.poll() is None:
            os.killpg(item.pid, signal.SIGKILL)
            item.wait()


@pytest.mark.parametrize("how", ["direct", "shell"])
def test_job_stops_when_its_starter_is_killed(started_job, how):
    starter, job, log = started_job(how)
    if how == "shell":
        assert command_of(parent_of(job)) == "bash"  # the shell stays between them
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    wait_for(lambda: not alive(job), 10, f"the orphaned job {job} to stop")
    text = log.read_text()
    assert f"the process that started this job (pid {starter.pid}, " in text
    assert f"stopping the job (exit status {ORPHANED_STATUS})" in text


def test_job_runs_on_while_its_starter_lives(started_job):
    starter, job, log = started_job("shell")
    time.sleep(0.5)  # ten checks of the watch
    assert alive(job) and starter.poll() is None
    assert not log.exists()


def test_starter_chain_and_orphaned():
    chain = starter_chain()
    assert chain[0] == (os.getpid(), os.getppid())
    assert not orphaned(chain)
    assert orphaned([(os.getpid(), os.getppid() + 100000)])
    assert orphaned([(2**22 + 12345, 1)])  # a process that is gone
