"""How the findings write numbers, cells and tables (markdown)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from mtrl.kinds import SINGLE
from mtrl.metric_names import metric_range, range_label
from mtrl.stats.intervals import scale_name


def number(x: float) -> str:
    """Three significant digits; ``n/a`` for a missing value, ``0`` for float noise around zero."""
    if x is None or pd.isna(x):
        return "n/a"
    return "0" if abs(float(x)) < 1e-12 else f"{float(x):.3g}"  # float noise of an exact zero


def percent(x: float) -> str:
    """A signed percentage with one decimal (``0.1`` -> ``+10.0%``)."""
    return "n/a" if x is None or pd.isna(x) else f"{100 * float(x):+.1f}%"


def estimate(mean: float, lo: float, hi: float) -> str:
    """An estimate with its 95% interval."""
    return f"{number(mean)} (95% CI {number(lo)} to {number(hi)})"


def value_interval_method(metric: str) -> str:
    """How the interval of ``metric``'s own value (its mean over seeds, not a gain) is computed."""
    bounds = metric_range(metric)
    scale = scale_name(bounds)
    if scale is None:
        return "a two-sided 95% t interval over seeds"
    return (
        f"a two-sided 95% t interval over seeds on the {scale} scale, mapped back so that it stays "
        f"within {range_label(bounds)}"
    )


def seed_count(counts: Iterable) -> str:
    """The number of seeds behind some estimates (``3 seeds``, ``2 to 4 seeds``)."""
    values = sorted({int(n) for n in counts if pd.notna(n)})
    if not values:
        return "0 seeds"
    if len(values) == 1:
        return f"{values[0]} seed" + ("" if values[0] == 1 else "s")
    return f"{values[0]} to {values[-1]} seeds"


def cell_label(row) -> str:
    """A cell of the grid: coupling / sharing / training size."""
    return f"`{row['coupling']}` / `{row['sharing']}` / n = {int(row['n_train'])}"


def setting_label(row) -> str:
    """A run setting: a grid cell, or the single-task runs of one training size."""
    if row["kind"] == SINGLE:
        return f"single-task / n = {int(row['n_train'])}"
    return cell_label(row)


def gain_clause(row, metric: str) -> str:
    """The gain of a target cell with its interval, adjusted p-value, seeds and the two means."""
    return (
        f"gain {estimate(row['gain_mean'], row['gain_ci_low'], row['gain_ci_high'])}, "
        f"adjusted p = {number(row['p_adjusted'])}, {seed_count([row['n_seeds']])}; {metric} "
        f"{number(row['mtl_mean'])} multi-task vs {number(row['stl_mean'])} single-task "
        f"(relative change {percent(row['relative_change'])})"
    )


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
