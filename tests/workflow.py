"""Helpers to run the workflow in tests: snakemake in the repository, results in a temp folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def tiny(**overrides) -> dict:
    """tests/data/tiny.yaml as a dict, with top-level overrides (defaults not filled in)."""
    config = yaml.safe_load((REPO / "tests" / "data" / "tiny.yaml").read_text())
    config.update(overrides)
    return config


def tiny_config(tmp_path: Path, **overrides) -> Path:
    """Write tests/data/tiny.yaml with ``results`` in ``tmp_path`` and top-level overrides."""
    config = tiny(results=str(tmp_path / "results"), **overrides)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake in the repository; return the completed process (output in .stdout)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [*SNAKEMAKE, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env
    )
    proc.stdout = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a snakemake (dry) run."""
    counts = {}
    block = output.split("Job stats:", 1)[1]
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts
