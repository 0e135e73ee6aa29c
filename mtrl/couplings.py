"""Task couplings: the task sets trained together, given in the config or chosen from the data.

``couplings: auto`` picks them from the task label correlations of the training split, as the 2016
study picked {pop, pop rock, ballad} (tight) and {pop, loudness, year} (loose): ``tight`` is the
target plus the ``k`` candidates most correlated with it, ``loose`` the target plus the ``k`` least
correlated, both by absolute correlation (a strongly negative correlation is a tight coupling too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a training job's client reads couplings without paying pandas's import
    import pandas as pd

AUTO_NAMES = ("tight", "loose")


def choose_couplings(
    correlations: pd.DataFrame, target: str, candidates: Sequence[str], k: int
) -> dict[str, list[str]]:
    """``{"tight": [...], "loose": [...]}`` from a :func:`mtrl.correlations.label_correlations` table."""
    if k < 1 or 2 * k > len(candidates):
        raise ValueError(
            f"auto_couplings.k = {k}: needs 1 <= k and 2k <= {len(candidates)} candidate tasks, so that "
            "tight and loose sets do not overlap"
        )
    with_target = correlations[correlations["task_a"] == target].set_index("task_b")
    strength = {}
    for task in candidates:
        if task not in with_target.index:
            raise ValueError(
                f"auto_couplings.candidates: task {task!r} has no correlation with target {target!r} "
                "(multiclass tasks cannot be ranked)"
            )
        r = with_target.loc[task, "correlation"]
        if r is None or (isinstance(r, float) and math.isnan(r)):
            raise ValueError(
                f"auto_couplings.candidates: the correlation of {task!r} with {target!r} is undefined "
                f"({int(with_target.loc[task, 'n'])} rows carry both labels)"
            )
        strength[task] = abs(float(r))
    ranked = sorted(candidates, key=lambda t: (-strength[t], t))
    return {"tight": [target, *ranked[:k]], "loose": [target, *ranked[::-1][:k]]}


def read_couplings(path: str) -> dict[str, list[str]]:
    """The couplings written by the ``choose_couplings`` rule (YAML mapping name -> tasks)."""
    import yaml

    with open(path) as f:
        couplings = yaml.safe_load(f)
    if not isinstance(couplings, dict) or not all(isinstance(v, list) for v in couplings.values()):
        raise ValueError(f"{path!r}: expected a mapping of coupling name -> list of tasks")
    return couplings


def run_tasks(run: dict, couplings_path: str | None) -> dict:
    """The run's keyword arguments with its task list filled in from the chosen couplings if needed."""
    if run.get("tasks") is not None:
        return run
    if couplings_path is None:
        raise ValueError("a run without tasks needs the chosen couplings file (couplings: auto)")
    coupling = run["labels"]["coupling"]
    return {**run, "tasks": read_couplings(couplings_path)[coupling]}
