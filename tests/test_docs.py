"""``make docs``: the Sphinx build is warning-free, covers every module and every configuration key."""

from __future__ import annotations

import posixpath
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sphinx.util.inventory import InventoryFile

from workflow import REPO

SCHEMA = REPO / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """The HTML documentation, built as ``make docs`` does (warnings are errors) into a temporary folder."""
    out = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
    command += ["-d", str(out / "doctrees"), str(REPO / "docs"), str(out / "html")]
    build = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return out / "html"


def _inventory(html: Path) -> dict[str, dict]:
    with (html / "objects.inv").open("rb") as stream:
        return InventoryFile.load(stream, "", posixpath.join)


def _package_modules() -> set[str]:
    """Every public module of ``mtrl`` by its file (``__init__.py`` names its package)."""
    names = set()
    for path in (REPO / "mtrl").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if not any(part.startswith("_") for part in parts):
            names.add(".".join(parts))
    return names


def test_configuration_reference_lists_every_top_level_key(html):
    schema = yaml.safe_load(SCHEMA.read_text())
    documented = _inventory(html)["std:confval"]
    for key in schema["properties"]:
        assert key in documented, key
        assert documented[key].uri.startswith("configuration.html#"), documented[key]
    page = (html / "configuration.html").read_text()
    assert "schemas/config.schema.yaml" in page


def test_configuration_reference_lists_nested_keys_with_their_rules(html):
    documented = _inventory(html)["std:confval"]
    assert {"model.widths", "data.split.val_fraction", "data.synthetic.tasks.<name>.rho"} <= set(documented)
    page = (html / "configuration.html").read_text()
    # the enum, the range and the default of a key as the schema gives them
    assert all(optimizer in page for optimizer in ("adamw", "rmsprop", "nadam"))
    assert "0 &lt; value &lt; 1" in page and "0.05" in page


def test_every_module_has_a_page(html):
    modules = set(_inventory(html)["py:module"])
    assert {"mtrl", "mtrl.config", "mtrl.data", "mtrl.data.prepared"} <= modules
    assert _package_modules() <= modules
    for name in ("mtrl.config", "mtrl.data.prepared"):
        assert (html / "api" / f"{name}.html").is_file(), name
