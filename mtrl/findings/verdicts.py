"""The findings' opening: one verdict per confirmatory hypothesis, in words and as a table."""

from __future__ import annotations

import math

import pandas as pd

from mtrl.findings.wording import number
from mtrl.stats.multiplicity import method_name

_MEANING = {
    "supported": "a difference in the stated direction",
    "contradicted": "a difference the other way",
    "equivalent": "within the equivalence margin",
    "inconclusive": "neither a difference nor equivalence",
}
# what "a difference" is under each verdict rule (findings.verdict_rule; mtrl.stats.confirmatory)
_DIFFERENCE = {
    "margin": "a difference is one beyond the equivalence margin (a minimum-effect test: the "
    "interval lies beyond +/- the margin), so an effect the margin calls negligible is never "
    "called a difference",
    "zero": "a difference is any difference from 0 (point-null tests)",
}


def _value(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else number(x)


def _p(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}" if x >= 0.001 else "<0.001"


def _sentence(row: pd.Series, alpha: float) -> str:
    name = f"`{row['hypothesis']}`"
    verdict = f"**{row['verdict']}** ({_MEANING.get(row['verdict'], '')})"
    if row["kind"] == "interaction":
        found = "an interaction detected" if row["verdict"] == "supported" else "none detected"
        note = f" ({row['note']})" if isinstance(row.get("note"), str) and row["note"] else ""
        return (
            f"{name}: **{row['verdict']}** ({found}); adjusted p = {_p(row['p_adjusted'])}{note}, "
            f"{int(row['seeds'])} seeds."
        )
    interval = f"{100 * (1 - alpha):g}% CI {_value(row['ci_low'])} to {_value(row['ci_high'])}"
    margin = row.get("margin")
    against = (
        f" (against the margin +/- {_value(margin)})"
        if row.get("verdict_rule") == "margin" and isinstance(margin, float) and math.isfinite(margin)
        else ""
    )
    estimate = (
        f"estimate {_value(row['estimate'])} ({interval}), "
        f"adjusted p = {_p(row['p_adjusted'])}{against}, {int(row['seeds'])} seeds"
    )
    if row["verdict"] == "inconclusive":
        estimate += f"; the smallest effect these seeds detect at the stated power: {_value(row['mde'])}"
        if not math.isnan(float(row["seeds_needed"])):
            estimate += f", seeds needed for the effect of interest: {math.ceil(float(row['seeds_needed']))}"
    if row["kind"] == "any_gain" and isinstance(row.get("note"), str) and row["note"]:
        estimate += f" ({row['note']}; its interval simultaneous over the cells)"
    return f"{name}: {verdict}; {estimate}."


def verdict_section(hypotheses: pd.DataFrame | None, alpha: float, method: str) -> str:
    """Markdown opening the findings with the confirmatory verdicts (empty without hypotheses)."""
    if hypotheses is None or hypotheses.empty:
        return ""
    metric = hypotheses["metric"].iloc[0]
    rules = [r for r in hypotheses.get("verdict_rule", pd.Series(dtype=str)).dropna().unique() if r != "zero"]
    difference = _DIFFERENCE[rules[0] if rules else "zero"]
    lines = [
        "## Confirmatory hypotheses",
        "",
        f"Declared in the config before the runs; gains on {metric}, positive = multi-task better; "
        f"{method_name(method)}-adjusted within these {len(hypotheses)} hypotheses at alpha = {alpha:g}; "
        f"{difference}; equivalence by two one-sided tests against the margin (statsmodels). "
        "Everything after this section is exploratory.",
        "",
    ]
    lines += [f"- {_sentence(row, alpha)}" for _, row in hypotheses.iterrows()]
    return "\n".join(lines)
