"""Precision-driven seeds: how many replicates each training size gets, decided on precision alone.

A study's ``seeds`` is either a list (every cell gets those seeds) or a rule
``{initial, max, target_halfwidth, first}``. With a rule the study runs in two stages (Stein's
two-stage procedure, Stein 1945, "A two-sample test for a linear hypothesis whose power is
independent of the variance"): the ``initial`` seeds ``first, first + 1, ...`` of every cell, then,
from the spread of each cell's paired gains (multi-task minus single-task on the target's primary
metric), the total number of seeds

    ``N = max(n0, ceil((t(1 - alpha/2, n0 - 1) * s / d) ** 2))``, at most ``max``,

with ``n0`` the initial seeds, ``s`` their standard deviation and ``d`` the target half-width of the
cell's interval. ``N`` depends on the spread only, never on the observed gain or a p-value: for
normal replicates the sample variance is independent of the sample mean, so adding seeds this way
leaves the tests' false-positive rate at alpha (``tests/test_seed_rule.py`` simulates it), whereas
adding seeds until a p-value falls below alpha ("optional stopping") inflates it.

Seeds are decided per training size: every cell of one size (each coupling x sharing, and the
single-task runs of that size) gets the same seeds, the most any of its cells needs, so that the
paired and pooled comparisons stay balanced; a size whose widest cell is already precise enough
keeps its initial seeds.

Where a training job trains several seeds (``execution.replicates_per_job`` R > 1, groups of R
consecutive seeds from ``first``), a size's seeds are rounded up to whole groups, at most ``max``:
the seeds its jobs train anyway are used, none is trained and left out. The rounded count is a
function of the initial spread alone, so the argument above holds unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mtrl.stats.pairing import CELL_KEYS

PLAN_COLUMNS = [
    "n_train",
    "coupling",
    "sharing",
    "seeds_initial",
    "sd",
    "halfwidth_initial",
    "seeds_needed",
    "seeds",
    "reason",
]


@dataclass(frozen=True)
class SeedRule:
    """The ``seeds`` rule of a study: ``initial`` seeds, then up to ``max`` per training size."""

    initial: int
    max: int
    target_halfwidth: float
    first: int

    def __post_init__(self) -> None:
        if self.initial < 2:
            raise ValueError(f"seeds.initial = {self.initial}: the rule needs at least 2 initial seeds")
        if self.max < self.initial:
            raise ValueError(f"seeds.max = {self.max} is below seeds.initial = {self.initial}")
        if not self.target_halfwidth > 0:
            raise ValueError(f"seeds.target_halfwidth = {self.target_halfwidth} must be above 0")

    def seeds(self, count: int) -> list[int]:
        """The first ``count`` seeds of the rule: ``first, first + 1, ...``."""
        return list(range(self.first, self.first + count))

    @property
    def initial_seeds(self) -> list[int]:
        return self.seeds(self.initial)

    @property
    def all_seeds(self) -> list[int]:
        """Every seed the rule may use (the ``max`` first)."""
        return self.seeds(self.max)

    def in_whole_groups(self, count: int, per_job: int) -> int:
        """``count`` seeds rounded up to whole replicate groups of ``per_job``, at most ``max``.

        A training job trains a group of ``per_job`` consecutive seeds cut from ``first``
        (``execution.replicates_per_job``, :mod:`mtrl.seed_groups`), so the seeds it trains
        anyway are used rather than left out; the count still depends on the spread alone.
        """
        return min(self.max, -(-count // per_job) * per_job)


def seed_rule(setting: Sequence[int] | Mapping[str, Any]) -> SeedRule | None:
    """The rule of a config's ``seeds`` (None for a plain list of seeds)."""
    if isinstance(setting, Mapping):
        return SeedRule(
            initial=int(setting["initial"]),
            max=int(setting["max"]),
            target_halfwidth=float(setting["target_halfwidth"]),
            first=int(setting["first"]),  # its default is the schema's
        )
    return None


def halfwidth(sd: float, n: int, confidence: float) -> float:
    """Half-width of the t interval of a mean of ``n`` replicates with standard deviation ``sd``."""
    if n < 2 or not np.isfinite(sd):
        return math.nan
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))


def seeds_needed(values: Sequence[float], rule: SeedRule, confidence: float) -> int:
    """Stein's total number of replicates for a cell whose initial replicates are ``values``.

    At least the initial number, at most ``rule.max``; ``rule.max`` when the spread is unknown
    (fewer than two finite values).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n0 = len(x)
    if n0 < 2:
        return rule.max
    quantile = stats.t.ppf(0.5 + confidence / 2, n0 - 1)
    needed = math.ceil((quantile * float(x.std(ddof=1)) / rule.target_halfwidth) ** 2 - 1e-9)
    return int(min(rule.max, max(n0, needed)))


def seed_plan(
    gains: pd.DataFrame, rule: SeedRule, sizes: Sequence[int], confidence: float, per_job: int = 1
) -> pd.DataFrame:
    """Per cell: its initial spread and interval, the seeds it needs and the seeds its size gets.

    ``gains`` holds the initial replicates (columns ``coupling, sharing, n_train, seed, gain``; only
    the rule's initial seeds are read). Every size of ``sizes`` gets a row per cell (a size without
    any cell, e.g. excluded by the study plan, keeps its initial seeds). ``per_job``: the seeds a
    training job trains (``execution.replicates_per_job``); a size's seeds are rounded up to whole
    groups (:meth:`SeedRule.in_whole_groups`). Columns :data:`PLAN_COLUMNS`.
    """
    initial = gains[gains["seed"].isin(rule.initial_seeds)]
    rows = []
    for keys, cell in initial.groupby(CELL_KEYS, sort=True):
        values = cell["gain"].to_numpy(dtype=float)
        n0 = int(np.isfinite(values).sum())
        sd = float(np.nanstd(values, ddof=1)) if n0 >= 2 else math.nan
        rows.append(
            dict(
                zip(CELL_KEYS, keys, strict=True),
                seeds_initial=n0,
                sd=sd,
                halfwidth_initial=halfwidth(sd, n0, confidence),
                seeds_needed=seeds_needed(values, rule, confidence),
            )
        )
    cells = pd.DataFrame(
        rows, columns=[*CELL_KEYS, "seeds_initial", "sd", "halfwidth_initial", "seeds_needed"]
    )
    per_size = cells.groupby("n_train")["seeds_needed"].max()
    missing = pd.DataFrame({"n_train": [n for n in sizes if n not in per_size.index]})
    cells = pd.concat([cells, missing], ignore_index=True) if len(missing) else cells
    needed = [int(per_size.get(n, rule.initial)) for n in cells["n_train"]]
    cells["seeds"] = [rule.in_whole_groups(count, per_job) for count in needed]
    cells["reason"] = [
        _reason(row, rule) + _rounding(count, row["seeds"], per_job)
        for (_, row), count in zip(cells.iterrows(), needed, strict=True)
    ]
    return cells.sort_values(["n_train", "coupling", "sharing"], na_position="first")[
        PLAN_COLUMNS
    ].reset_index(drop=True)


def _reason(row: pd.Series, rule: SeedRule) -> str:
    """Why the cell's size gets its seeds, in words."""
    if pd.isna(row["coupling"]):
        return "no cell to measure at this size: the initial seeds"
    if not np.isfinite(row["halfwidth_initial"]):
        return f"spread unknown with {int(row['seeds_initial'])} replicate(s): the maximum"
    if row["seeds_needed"] <= row["seeds_initial"]:
        return (
            f"initial interval +/-{row['halfwidth_initial']:.3g} within the target {rule.target_halfwidth:g}"
        )
    capped = " (capped at max)" if row["seeds_needed"] == rule.max else ""
    return (
        f"initial interval +/-{row['halfwidth_initial']:.3g} wider than the target "
        f"{rule.target_halfwidth:g}: {int(row['seeds_needed'])} seeds{capped}"
    )


def _rounding(needed: int, seeds: int, per_job: int) -> str:
    """The words on a size's seeds rounded up to whole replicate groups (empty when not rounded)."""
    if seeds == needed:
        return ""
    return f"; {seeds} with whole groups of {per_job} seeds per job (execution.replicates_per_job)"


def seeds_by_size(plan: pd.DataFrame, rule: SeedRule) -> dict[int, list[int]]:
    """Training size -> the seeds every run of that size uses, from a :func:`seed_plan` table."""
    counts = plan.groupby("n_train")["seeds"].max()
    return {int(n): rule.seeds(int(count)) for n, count in counts.items()}


def read_seed_plan(path: str, rule: SeedRule) -> dict[int, list[int]]:
    """Training size -> its seeds, from a ``seeds.csv`` written by :func:`seed_plan`."""
    return seeds_by_size(pd.read_csv(path), rule)
