"""Robustness of the study's answers (not a test): the default study with 3 disjoint seed sets.

Runs the whole study (``config.yaml`` unless ``--config``) three times from scratch, each with other
seeds (a seeds rule starts at ``first`` = 1, 101, 201; a list of seeds is shifted by 0, 100, 200),
and prints the confirmatory verdicts of each set side by side: a decisive study gives the same
verdict to every hypothesis in all three. Writes ``results/bench/verdicts.json`` (every set's
``hypotheses.csv`` rows, wall times and whether the verdicts agree).

    python benchmarks/verdicts.py [--config config.yaml] [--sets 3] [--keep] [--reuse]

Each set's scratch root ``results/bench/verdicts/set<k>`` keeps its tables, findings and seed plan;
its runs (models of several GB) are deleted unless ``--keep``. ``--reuse`` starts from what a set's
root holds (runs kept with ``--keep``) instead of from scratch: Snakemake redoes only what is
missing or out of date, e.g. the statistics after a change of ``findings``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
OFFSET = 100  # between the first seeds of two sets: disjoint as long as a set uses at most 100 seeds


def seeds_of_set(seeds: list[int] | dict, k: int) -> list[int] | dict:
    """The ``seeds`` setting of set ``k``: the rule from ``first + k * OFFSET``, or the list shifted."""
    if isinstance(seeds, dict):
        return {**seeds, "first": int(seeds.get("first", 1)) + k * OFFSET}
    return [int(s) + k * OFFSET for s in seeds]


def run_set(config: dict, k: int, root: Path, keep: bool, reuse: bool = False) -> dict:
    """Run the study of set ``k`` in ``root`` (from scratch unless ``reuse``); its hypotheses rows
    and wall time."""
    if not reuse:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {**config, "results": str(root), "seeds": seeds_of_set(config["seeds"], k)}, sort_keys=False
        )
    )
    snakemake = [str(Path(sys.executable).with_name("snakemake")), "--configfile", str(path), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(snakemake, cwd=REPO, check=True)  # the default profile: every core
    wall = time.perf_counter() - t0
    with open(root / "tables/hypotheses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not keep:
        shutil.rmtree(root / "runs", ignore_errors=True)
    return {
        "set": k,
        "seeds": seeds_of_set(config["seeds"], k),
        "wall_seconds": round(wall, 1),
        "hypotheses": rows,
    }


def _cell(row: dict) -> str:
    def num(key: str) -> str:
        return f"{float(row[key]):.3f}" if row.get(key) not in (None, "", "nan") else "-"

    estimate = (
        "" if row["kind"] == "interaction" else f" {num('estimate')} [{num('ci_low')}, {num('ci_high')}]"
    )
    return f"{row['verdict']}{estimate} ({row['seeds']} seeds)"


def table(sets: list[dict]) -> tuple[str, bool]:
    """The verdicts of every set as a Markdown table, and whether they agree for every hypothesis."""
    names = [row["hypothesis"] for row in sets[0]["hypotheses"]]
    header = "| hypothesis | " + " | ".join(f"seeds from {_first(s['seeds'])}" for s in sets) + " | same |"
    lines = [header, "|" + "---|" * (len(sets) + 2)]
    agree = True
    for i, name in enumerate(names):
        rows = [s["hypotheses"][i] for s in sets]
        same = len({r["verdict"] for r in rows}) == 1
        agree &= same
        lines.append(
            f"| `{name}` | " + " | ".join(_cell(r) for r in rows) + f" | {'yes' if same else 'NO'} |"
        )
    return "\n".join(lines), agree


def _first(seeds: list[int] | dict) -> int:
    return int(seeds["first"]) if isinstance(seeds, dict) else int(seeds[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--sets", type=int, default=3)
    parser.add_argument("--root", default="results/bench/verdicts")
    parser.add_argument("--out", default=str(REPO / "results/bench/verdicts.json"))
    parser.add_argument("--keep", action="store_true", help="keep each set's runs")
    parser.add_argument("--reuse", action="store_true", help="start from each set's kept runs")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / args.config).read_text())
    sets = [run_set(config, k, REPO / args.root / f"set{k}", args.keep, args.reuse) for k in range(args.sets)]
    text, agree = table(sets)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"config": args.config, "agree": agree, "sets": sets}, indent=2) + "\n"
    )
    print(text)
    print(f"confirmatory verdicts {'the same' if agree else 'DIFFER'} across {args.sets} disjoint seed sets")


if __name__ == "__main__":
    main()
