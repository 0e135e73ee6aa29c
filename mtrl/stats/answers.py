"""The study's answers as tables: the confirmatory family (``hypotheses.csv``) and per-cell power
(``power.csv``), from the runs table and the findings settings of the config.

Both are read on the target's primary metric on the test split, from the replicate gains of
:func:`mtrl.stats.gains.seed_gains` (positive = multi-task better). Cells the study plan excludes
(:mod:`mtrl.stats.exclusions`) are left out before anything is computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mtrl.stats.confirmatory import COLUMNS, confirmatory_table
from mtrl.stats.gains import seed_gains
from mtrl.stats.hypotheses import parse_hypotheses
from mtrl.stats.power import cell_power
from mtrl.tasks import higher_is_better

HYPOTHESES_COLUMNS = [*COLUMNS, "metric"]
POWER_COLUMNS = ["coupling", "sharing", "n_train", "metric", "seeds", "sd", "mde", "seeds_needed", "alpha"]


def gains_table(runs: pd.DataFrame, target: str, metric: str, split: str = "test") -> pd.DataFrame:
    """One row per replicate of each multi-task cell: ``coupling, sharing, n_train, seed, gain``."""
    gains = seed_gains(runs, target, metric, split)
    return gains[["coupling", "sharing", "n_train", "seed", "gain"]]


def baseline_margins_table(runs: pd.DataFrame, target: str, metric: str, split: str = "test") -> pd.DataFrame:
    """One row per run of the target, single-task and multi-task: ``coupling, sharing, n_train, seed,
    gain`` with ``gain`` the model's metric minus its trivial baseline's, positive = the model better
    (single-task runs under the coupling ``single``)."""
    rows = runs[(runs["task"] == target) & (runs["split"] == split) & (runs["metric"] == metric)]
    sign = 1.0 if higher_is_better(metric) else -1.0
    margins = rows.assign(gain=sign * (rows["value"] - rows["baseline"]))
    return margins[["coupling", "sharing", "n_train", "seed", "gain"]].reset_index(drop=True)


def _per_metric(setting: Mapping[str, float] | None, metric: str) -> float | None:
    value = (setting or {}).get(metric)
    return None if value is None else float(value)


def hypotheses_table(
    gains: pd.DataFrame,
    findings: Mapping[str, Any],
    metric: str,
    couplings: Sequence[str],
    sharings: Sequence[str],
    sizes: Sequence[int],
    margins: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The confirmatory family of ``findings.hypotheses`` with its verdicts (columns
    :data:`HYPOTHESES_COLUMNS`), Holm-adjusted (or ``findings.adjustment``) within the family.
    ``margins``: :func:`baseline_margins_table`, for ``baseline`` hypotheses."""
    hypotheses = parse_hypotheses(
        findings.get("hypotheses") or [], couplings=couplings, sharings=sharings, sizes=sizes
    )
    if not hypotheses:
        return pd.DataFrame(columns=HYPOTHESES_COLUMNS)
    table = confirmatory_table(
        gains,
        hypotheses,
        margin=_per_metric(findings.get("equivalence_margin"), metric),
        effect_of_interest=_per_metric(findings.get("effect_of_interest"), metric),
        alpha=float(findings["alpha"]),
        power=float(findings["power"]),
        method=findings["adjustment"],
        margins=margins,
        rule=findings["verdict_rule"],
    )
    return table.assign(metric=metric)[HYPOTHESES_COLUMNS]


def power_table(gains: pd.DataFrame, findings: Mapping[str, Any], metric: str) -> pd.DataFrame:
    """Per cell: the minimum detectable gain at ``findings.power`` with the seeds used and the seeds
    needed for ``findings.effect_of_interest``, each cell's test at alpha over the number of cells
    (Bonferroni's bound of the exploratory grid's adjustment)."""
    n_cells = max(1, len(gains[["coupling", "sharing", "n_train"]].drop_duplicates()))
    alpha = float(findings["alpha"]) / n_cells
    cells = cell_power(
        gains,
        alpha=alpha,
        power=float(findings["power"]),
        effect_of_interest=_per_metric(findings.get("effect_of_interest"), metric),
    )
    return cells.assign(metric=metric, alpha=alpha)[POWER_COLUMNS]
