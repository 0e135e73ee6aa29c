"""Findings: the cells of the study plan that the data could not fill as requested (:mod:`mtrl.data.plan`)."""

from __future__ import annotations

import pandas as pd

from mtrl.data.plan import CAPPED
from mtrl.stats.exclusions import excluded


def plan_section(plan: pd.DataFrame | None) -> str:
    """The cells left out of the statistics and the capped baselines, in words; empty when there are none."""
    if plan is None:
        return ""
    left_out = excluded(plan)
    capped = plan[plan["status"] == CAPPED]
    if left_out.empty and capped.empty:
        return ""
    lines = [
        "**Study plan.** The prepared data do not fill every cell of the study as requested (see "
        "`tables/plan.csv`):"
    ]
    lines += [
        f"- excluded: {r['reason']}. Its runs trained, but every statistic below leaves `{r['task']}` at "
        f"n = {int(r['n_train'])} out."
        for _, r in left_out.iterrows()
    ]
    lines += [
        f"- capped: {r['reason']}; at n = {int(r['n_train'])} the average relative improvement compares the "
        "multi-task runs with this smaller baseline."
        for _, r in capped.iterrows()
    ]
    return "\n".join(lines)
