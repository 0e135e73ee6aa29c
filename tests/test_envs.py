"""The conda environment pins the same versions as pyproject.toml."""

import re
import tomllib

import yaml

from workflow import REPO


def _pins(lines):
    pins = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)\s*", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_conda_env_pins_agree_with_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = _pins(project["project"]["dependencies"])
    env = yaml.safe_load((REPO / "envs" / "mtrl.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = _pins(pip)
    # every package the jobs import is pinned in the env, at the pyproject version
    runtime = {k: v for k, v in wanted.items() if not k.startswith("snakemake")}
    assert conda == runtime
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert project["project"]["requires-python"] == ">=3.11" and python == "python=3.11"


def test_every_rule_names_the_env():
    jobs = 0
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        # named rules, and rules named by a `name:` directive (one per replicate group, in a loop)
        rules = len(re.findall(r"^\s*(?:rule|checkpoint)(?: \w+)?:", text, flags=re.MULTILINE))
        assert rules == text.count('"../envs/mtrl.yaml"'), smk.name
        jobs += rules
    assert jobs >= 15  # every step of the workflow was found
