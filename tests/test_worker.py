"""The warm worker (mtrl.worker): jobs run in fresh forks of one server, with in-process fallbacks."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mtrl import worker

# Jobs for the tests; the server imports them through PYTHONPATH.
TARGETS = '''
import json, os, sys, time

STATE = {"calls": 0, "warm": None}


def info(out):
    """Report this process and how often this module's function ran in it."""
    STATE["calls"] += 1
    Path = __import__("pathlib").Path
    Path(out).write_text(json.dumps({
        "pid": os.getpid(), "ppid": os.getppid(), "calls": STATE["calls"],
        "keras_loaded": "keras" in sys.modules, "cwd": os.getcwd(), "warm": STATE["warm"],
    }))
    print("info ran")


def remember(value):
    """A warm-up: keep ``value`` in this module (the server's copy, inherited by its forks)."""
    STATE["warm"] = value


def remember_file(path):
    """A warm-up that reads a file (a relative path: from the request's directory)."""
    with open(path) as f:
        STATE["warm"] = f.read()


def fail():
    raise ValueError("boom-4711")


def _write(path, doc):
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.replace(path + ".tmp", path)  # readers never see a partial file


def slow(out, seconds):
    """Write the start (pid, time), sleep, then write the end."""
    _write(out + ".started", {"pid": os.getpid(), "ppid": os.getppid(), "t": time.time()})
    time.sleep(seconds)
    _write(out + ".finished", {"t": time.time()})


def train(data_path, spec, out):
    """A real (tiny) training run; through the prepared-data cache when a warm-up filled it."""
    import mtrl.data.cache
    from mtrl.train import RunSpec, train_run

    cached = mtrl.data.cache.is_cached(data_path)
    result = train_run(data_path, RunSpec(**spec), out + "/model.keras", out + "/history.csv",
                       out + "/metrics.json", "jax")
    with open(out + "/extra.json", "w") as f:
        json.dump({"cached": cached, "pid": os.getpid(), "ppid": os.getppid()}, f)
    return result
'''

RUN = dict(backend="jax", threads=1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def _server_logs(directory: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(directory.glob("*.log")))


def _stop_all(directory: Path) -> None:
    """Stop every server in ``directory`` (killing its jobs) and check that they exit."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTRL_WORKER_DIR", str(directory))
        pids = worker.stop(now=True)
    assert _wait_for(lambda: not any(_alive(p) for p in pids), 15), f"servers {pids} did not exit"
    assert not list(directory.glob("*.sock"))


@pytest.fixture(scope="module")
def helpers(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("worker-helpers")
    (folder / "wtargets.py").write_text(textwrap.dedent(TARGETS))
    return folder


@pytest.fixture(scope="module")
def server_env(helpers):
    """A private worker folder (short path: socket paths are limited to 107 bytes) and settings."""
    directory = Path(tempfile.mkdtemp(prefix="mtw-", dir="/tmp"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTRL_WORKER_DIR", str(directory))
        mp.setenv("MTRL_WORKER_IDLE", "20")
        mp.setenv("PYTHONPATH", str(helpers))
        mp.delenv("MTRL_WORKER", raising=False)
        mp.delenv("SLURM_JOB_ID", raising=False)
        yield directory
    try:
        _stop_all(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def wenv(server_env, helpers, monkeypatch):
    """Server tests: the module's environment, and no silent fallback to running in pytest."""
    for name in ("MTRL_WORKER_DIR", "MTRL_WORKER_IDLE", "PYTHONPATH"):
        monkeypatch.setenv(name, os.environ[name])

    def no_fallback(*args, **kwargs):
        raise AssertionError(f"fell back to running in the test process: {kwargs.get('note')}")

    monkeypatch.setattr(worker.client, "_run_here", no_fallback)
    return server_env


def _client(code: str, **env) -> subprocess.Popen:
    """A client in its own process (so that it may be killed or run without a server)."""
    repo = worker.PACKAGE_ROOT.parent  # `python -c` imports mtrl from its cwd
    script = f"from mtrl.worker import run\n{textwrap.dedent(code)}"
    return subprocess.Popen([sys.executable, "-c", script], env={**os.environ, **env}, cwd=repo)


def test_calls_reuse_one_server_and_log(wenv, tmp_path):
    log = tmp_path / "logs" / "job.log"
    worker.run("wtargets:info", {"out": str(tmp_path / "a.json")}, log=str(log), **RUN)
    worker.run("wtargets:info", {"out": str(tmp_path / "b.json")}, log=str(log), **RUN)
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    assert a["ppid"] == b["ppid"] != os.getpid()  # the same server forked both
    assert a["pid"] != b["pid"] and a["pid"] != os.getpid()
    assert a["keras_loaded"]  # preloaded by the server
    assert a["cwd"] == os.getcwd()
    text = log.read_text()
    assert text.count("info ran") == 2  # stdout of both jobs, appended
    assert "warm worker child" in text


def test_each_job_starts_from_fresh_state(wenv, tmp_path):
    for name in ("a", "b"):
        worker.run("wtargets:info", {"out": str(tmp_path / f"{name}.json")}, log=None, **RUN)
    calls = [json.loads((tmp_path / f"{n}.json").read_text())["calls"] for n in ("a", "b")]
    assert calls == [1, 1]  # the first job's change to a module global died with it


def test_failing_job_raises_and_logs_the_traceback(wenv, tmp_path):
    log = tmp_path / "fail.log"
    with pytest.raises(worker.WorkerJobError, match=r"exit status 1.*fail\.log"):
        worker.run("wtargets:fail", {}, log=str(log), **RUN)
    text = log.read_text()
    assert "Traceback" in text and "ValueError: boom-4711" in text


def test_killed_client_kills_its_job(wenv, tmp_path):
    out = str(tmp_path / "slow")
    client = _client(
        f"run('wtargets:slow', {{'out': {out!r}, 'seconds': 2.5}}, log=None, backend='jax', threads=1)"
    )
    try:
        assert _wait_for(lambda: Path(out + ".started").exists(), 30), "the job did not start"
        started = json.loads(Path(out + ".started").read_text())
        assert started["ppid"] != client.pid  # it runs in the server's fork
        client.send_signal(signal.SIGKILL)
        client.wait(10)
        assert _wait_for(lambda: not _alive(started["pid"]), 5), "the server let the job run"
        time.sleep(max(0.0, started["t"] + 3.0 - time.time()))  # past the job's natural end
        assert not Path(out + ".finished").exists()
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    # the server survives and takes the next job
    worker.run("wtargets:info", {"out": str(tmp_path / "after.json")}, log=None, **RUN)
    after = json.loads((tmp_path / "after.json").read_text())
    assert after["ppid"] == started["ppid"], _server_logs(wenv)


def test_clients_that_vanish_at_once_leave_the_server_serving(wenv, tmp_path):
    worker.run("wtargets:info", {"out": str(tmp_path / "a.json")}, log=None, **RUN)
    path = worker.client._socket_path(worker.worker_dir(), worker.server_key("jax", 1))
    request = {"target": "wtargets:info", "kwargs": {"out": str(tmp_path / "x.json")}, "log": None}
    payload = (json.dumps({**request, "cwd": str(tmp_path)}) + "\n").encode()
    socks = [socket.socket(socket.AF_UNIX) for _ in range(20)]
    for i, sock in enumerate(socks):  # hang up before the request, before the reply and after it
        sock.connect(str(path))
        if i % 4:
            sock.sendall(payload)
    for i, sock in enumerate(socks):
        if i % 4 == 2:
            sock.recv(100)  # the job was accepted: then a job's end and the hang-up come together
        elif i % 4 == 3:
            time.sleep(0.02)
        sock.close()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        sock.sendall(b"not json\n")
    worker.run("wtargets:info", {"out": str(tmp_path / "b.json")}, log=None, **RUN)
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("a", "b"))
    assert a["ppid"] == b["ppid"], _server_logs(wenv)
    assert "Traceback" not in _server_logs(wenv)


def test_concurrent_clients_run_in_parallel(wenv, tmp_path):
    errors: list[BaseException] = []

    def call(name):
        try:
            worker.run("wtargets:slow", {"out": str(tmp_path / name), "seconds": 1.0}, log=None, **RUN)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=call, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    starts = [json.loads((tmp_path / f"{n}.started").read_text()) for n in ("a", "b")]
    ends = [json.loads((tmp_path / f"{n}.finished").read_text())["t"] for n in ("a", "b")]
    assert starts[0]["ppid"] == starts[1]["ppid"]
    assert starts[0]["pid"] != starts[1]["pid"]
    assert max(s["t"] for s in starts) < min(ends)  # both ran at once


def test_worker_result_equals_a_fresh_process(wenv, tmp_path, tiny_prepared):
    spec = dict(
        tasks=["t_target", "t_close", "t_reg"],
        target="t_target",
        n_train=80,
        seed=1,
        sharing_mask=[True, True, False, False],
        widths=[16, 8, 8, 4],
        max_epochs=3,
        patience=1,
        batch_size=32,
    )
    kwargs = {"data_path": str(tiny_prepared), "spec": spec}
    warm_up = ("mtrl.data.cache:warm", {"path": str(tiny_prepared)})
    (tmp_path / "warm").mkdir()
    (tmp_path / "cold").mkdir()
    worker.run("wtargets:train", {**kwargs, "out": str(tmp_path / "warm")}, log=None, warm=warm_up, **RUN)
    client = _client(
        f"run('wtargets:train', {{**{kwargs!r}, 'out': {str(tmp_path / 'cold')!r}}}, log=None, "
        f"backend='jax', threads=1, warm={warm_up!r})",
        MTRL_WORKER="off",
    )
    assert client.wait(120) == 0
    warm = json.loads((tmp_path / "warm" / "metrics.json").read_text())
    cold = json.loads((tmp_path / "cold" / "metrics.json").read_text())
    assert json.loads((tmp_path / "warm" / "extra.json").read_text())["cached"]  # parsed by the server
    cold_extra = json.loads((tmp_path / "cold" / "extra.json").read_text())
    assert cold_extra["pid"] == client.pid
    assert not cold_extra["cached"]  # no server: the warm-up is not called, the job reads the file
    assert warm["metrics"] == cold["metrics"]
    assert warm["training"]["epochs_trained"] == cold["training"]["epochs_trained"]


def test_what_a_warm_up_keeps_reaches_the_job(wenv, tmp_path):
    out = tmp_path / "w.json"
    worker.run(
        "wtargets:info", {"out": str(out)}, log=None, warm=("wtargets:remember", {"value": 4711}), **RUN
    )
    doc = json.loads(out.read_text())
    assert doc["warm"] == 4711  # set in the server before the fork
    assert doc["calls"] == 1


def test_a_warm_up_runs_from_the_request_directory(wenv, tmp_path, monkeypatch):
    (tmp_path / "note.txt").write_text("from the client's directory")
    monkeypatch.chdir(tmp_path)
    warm = ("wtargets:remember_file", {"path": "note.txt"})
    worker.run("wtargets:info", {"out": "n.json"}, log=None, warm=warm, **RUN)
    doc = json.loads((tmp_path / "n.json").read_text())
    assert doc["warm"] == "from the client's directory"
    assert Path(os.readlink(f"/proc/{doc['ppid']}/cwd")) == wenv.resolve()  # the server went back


@pytest.mark.parametrize("target", ["wtargets:fail", "no_such_module_4711:warm"])
def test_a_failing_warm_up_does_not_fail_the_job(wenv, tmp_path, target):
    out = tmp_path / "f.json"
    log = tmp_path / "f.log"
    worker.run("wtargets:info", {"out": str(out)}, log=str(log), warm=(target, {}), **RUN)
    assert json.loads(out.read_text())["calls"] == 1
    assert "info ran" in log.read_text()
    assert f"warm-up {{'target': '{target}'" in _server_logs(wenv)


def test_targets_are_checked_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="module:function"):
        worker.run("wtargets:info", {"out": str(tmp_path / "x")}, log=None, warm=("no-colon", {}), **RUN)
    with pytest.raises(ValueError, match="module:function"):
        worker.run("wtargets.info", {}, log=None, **RUN)
    assert not (tmp_path / "x").exists()


def test_off_runs_in_the_calling_process(helpers, tmp_path):
    directory = tmp_path / "w"
    out = str(tmp_path / "o.json")
    client = _client(
        f"run('wtargets:info', {{'out': {out!r}}}, log=None, backend='jax', threads=1)",
        MTRL_WORKER="off",
        MTRL_WORKER_DIR=str(directory),
        PYTHONPATH=str(helpers),
    )
    assert client.wait(60) == 0
    doc = json.loads(Path(out).read_text())
    assert doc["pid"] == client.pid
    assert not doc["keras_loaded"]  # nothing preloaded it
    assert not directory.exists()  # no server was started


def test_jobs_of_several_threads_run_in_the_calling_process(helpers, tmp_path):
    directory = tmp_path / "w"
    out = str(tmp_path / "o.json")
    client = _client(
        f"run('wtargets:info', {{'out': {out!r}}}, log=None, backend='jax', threads=2)",
        MTRL_WORKER_DIR=str(directory),
        PYTHONPATH=str(helpers),
    )
    assert client.wait(60) == 0
    assert json.loads(Path(out).read_text())["pid"] == client.pid
    assert not directory.exists()


def test_server_key_names_the_machine():
    assert worker.server_key("jax", 1).startswith(worker.keys.host() + "-")


def test_enabled_follows_the_environment():
    assert worker.enabled({})
    assert not worker.enabled({"MTRL_WORKER": "off"})
    assert not worker.enabled({"MTRL_WORKER": "0"})
    assert not worker.enabled({"SLURM_JOB_ID": "42"})
    assert worker.enabled({"SLURM_JOB_ID": "42", "MTRL_WORKER": "on"})


def test_changed_sources_get_another_server(tmp_path, monkeypatch):
    copy = tmp_path / "mtrl"
    shutil.copytree(worker.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = worker.package_fingerprint(copy)
    assert worker.package_fingerprint(copy) == before
    st = (copy / "train.py").stat()
    os.utime(copy / "train.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert worker.package_fingerprint(copy) != before

    key = worker.server_key("jax", 1)
    assert worker.server_key("jax", 2) != key
    assert worker.server_key("torch", 1) != key
    monkeypatch.setenv("XLA_FLAGS", "--xla_something_else")
    assert worker.server_key("jax", 1) != key
    monkeypatch.undo()
    monkeypatch.setattr(worker.keys, "package_fingerprint", lambda root=None: "edited")
    assert worker.server_key("jax", 1) != key


def test_idle_server_exits_and_stop_stops(helpers, tmp_path, monkeypatch):
    directory = Path(tempfile.mkdtemp(prefix="mtw-", dir="/tmp"))
    try:
        monkeypatch.setenv("MTRL_WORKER_DIR", str(directory))
        monkeypatch.setenv("PYTHONPATH", str(helpers))
        monkeypatch.setenv("MTRL_WORKER_IDLE", "1")
        monkeypatch.delenv("MTRL_WORKER", raising=False)
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
        worker.run("wtargets:info", {"out": str(tmp_path / "a.json")}, log=None, **RUN)
        server = json.loads((tmp_path / "a.json").read_text())["ppid"]
        assert list(directory.glob("*.sock"))
        assert _wait_for(lambda: not _alive(server), 10), "the idle server did not exit"
        assert not list(directory.glob("*.sock"))

        monkeypatch.setenv("MTRL_WORKER_IDLE", "60")
        worker.run("wtargets:info", {"out": str(tmp_path / "b.json")}, log=None, **RUN)
        server = json.loads((tmp_path / "b.json").read_text())["ppid"]
        assert worker.stop() == [server]
        assert _wait_for(lambda: not _alive(server), 10), "the stopped server did not exit"
        assert not list(directory.glob("*.sock"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    ("sig", "message"),
    [(signal.SIGTERM, "exit status -15"), (signal.SIGKILL, "ended while it ran the job")],
)
def test_a_dying_server_ends_its_jobs(helpers, tmp_path, monkeypatch, sig, message):
    """SIGTERM: the server kills its jobs and removes its socket; SIGKILL: the kernel kills them."""
    directory = Path(tempfile.mkdtemp(prefix="mtw-", dir="/tmp"))
    try:
        monkeypatch.setenv("MTRL_WORKER_DIR", str(directory))
        monkeypatch.setenv("PYTHONPATH", str(helpers))
        monkeypatch.delenv("MTRL_WORKER", raising=False)
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
        out = str(tmp_path / "slow")
        errors: list[BaseException] = []

        def call():
            try:
                worker.run("wtargets:slow", {"out": out, "seconds": 8}, log=None, **RUN)
            except BaseException as err:
                errors.append(err)

        client = threading.Thread(target=call)
        client.start()
        assert _wait_for(lambda: Path(out + ".started").exists(), 30), "the job did not start"
        started = json.loads(Path(out + ".started").read_text())
        os.kill(started["ppid"], sig)
        client.join(10)
        assert len(errors) == 1 and isinstance(errors[0], worker.WorkerJobError), errors
        assert message in str(errors[0])
        assert _wait_for(lambda: not _alive(started["pid"]) and not _alive(started["ppid"]), 5)
        if sig == signal.SIGTERM:
            assert not list(directory.glob("*.sock"))
        assert not Path(out + ".finished").exists()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# The worker is a generic host: it imports the standard library, mtrl.logs, mtrl.runtime and itself.
WORKER_MAY_IMPORT = ("mtrl.logs", "mtrl.runtime", "mtrl.worker")
WORKER_MUST_NOT_IMPORT = (
    "mtrl.data",
    "mtrl.train",
    "mtrl.job",
    "mtrl.model",
    "mtrl.sharing",
    "mtrl.backends",
    "keras",
    "jax",
    "jaxlib",
    "torch",
    "tensorflow",
    "torchjd",
)


def _imported_modules(path: Path, package: str) -> set[str]:
    """Modules the file ``path`` of ``package`` imports (anywhere in it, relative ones resolved)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_worker_imports_neither_data_nor_training_nor_frameworks():
    folder = Path(worker.__file__).parent
    files = sorted(folder.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "__main__.py", "client.py", "server.py", "protocol.py"}
    imports = {path.name: _imported_modules(path, "mtrl.worker") for path in files}
    assert "mtrl.runtime.configure" in imports["server.py"]  # the walk sees imports
    assert "mtrl.worker.protocol.resolve" in imports["jobs.py"]
    for name, imported in imports.items():
        forbidden = sorted(n for n in imported if _within(n, WORKER_MUST_NOT_IMPORT))
        assert not forbidden, f"{name} imports {forbidden}"
        foreign = sorted(
            n
            for n in imported
            if not _within(n, WORKER_MAY_IMPORT) and n.split(".")[0] not in sys.stdlib_module_names
        )
        assert not foreign, f"{name} imports {foreign}"
