"""Static checks: ruff and snakemake --lint are clean, snakefmt finds nothing to change."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflow import REPO, snakemake

BIN = Path(sys.executable).parent


def _tool(name):
    path = BIN / name
    if not path.exists() and shutil.which(name) is None:
        pytest.fail(f"{name} is not installed; run `make setup`")
    return str(path if path.exists() else shutil.which(name))


def test_ruff_check_is_clean():
    proc = subprocess.run([_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = subprocess.run([_tool("ruff"), "format", "--check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run(
        [_tool("snakefmt"), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint_is_clean():
    out = snakemake("--lint", check=False).stdout
    assert "Lints for" not in out and "lints" not in out.lower().replace("congratulations", ""), out[-4000:]
