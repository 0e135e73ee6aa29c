"""Findings: how many seeds each training size got under the study's seeds rule, and why."""

from __future__ import annotations

import pandas as pd

from mtrl.findings.wording import number


def seeds_section(plan: pd.DataFrame | None) -> str:
    """The seeds rule's decisions per training size (``tables/seeds.csv``); empty without a rule."""
    if plan is None or plan.empty:
        return ""
    lines = [
        "**Seeds.** The study's seeds follow a precision rule (Stein's two-stage procedure, see "
        "`tables/seeds.csv`): after the initial seeds, each training size got the seeds its widest "
        "cell needs for the target interval half-width, decided on the spread of the paired gains "
        "alone, never on an observed effect or p-value (adding seeds until p < alpha would inflate "
        "false positives):",
    ]
    for n, cells in plan.groupby("n_train", sort=True):
        widest = cells.sort_values(["seeds_needed", "sd"], ascending=False, na_position="last").iloc[0]
        where = (
            "" if pd.isna(widest["coupling"]) else f"; widest cell {widest['coupling']}/{widest['sharing']}"
        )
        sd = "" if pd.isna(widest["sd"]) else f", gain sd {number(float(widest['sd']))}"
        lines.append(f"- n = {int(n)}: {int(widest['seeds'])} seeds{where}{sd}: {widest['reason']}.")
    return "\n".join(lines)
