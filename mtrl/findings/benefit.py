"""Findings, header and Q1: is multi-task learning beneficial on the target?

The trivial baseline, the multi-task vs single-task comparison of every grid cell (with the cells whose
unadjusted interval excludes zero) and the average relative improvement over all tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mtrl.findings.wording import (
    cell_label,
    estimate,
    gain_clause,
    markdown_table,
    number,
    percent,
    seed_count,
    setting_label,
    value_interval_method,
)
from mtrl.numerics import NUMERICS_KEYS, numerics_label
from mtrl.stats.multiplicity import method_name
from mtrl.tasks import higher_is_better


def header(
    target: str,
    metric: str,
    split: str,
    alpha: float,
    method: str,
    cells: pd.DataFrame,
    reason: str = "",
    numerics: str | None = None,
) -> str:
    """The title and how every number below was computed; ``reason``: why ``metric`` judges the target
    (:func:`mtrl.tasks.metric_choice`); ``numerics``: what the runs trained with
    (:func:`numerics_sentence`)."""
    better = "higher" if higher_is_better(metric) else "lower"
    lines = [
        f"# Findings: does multi-task learning help `{target}`?",
        "",
        f"Primary metric: **{metric}** on the {split} split ({better} is better). "
        + (f"{reason}. " if reason else "")
        + "A gain is "
        f"sign-adjusted so that a positive gain means multi-task is better than single-task on "
        f"`{target}`, paired by seed and training size. Intervals of a gain are two-sided 95% t "
        f"intervals over seeds; the interval of the {metric} itself is {value_interval_method(metric)}. "
        f"P-values are paired t-tests (scipy.stats), adjusted with the {method_name(method)} "
        f"method (statsmodels) within each family of tests named below, at alpha = {alpha:g}. A "
        f"difference is called detectable only when its interval excludes zero and its adjusted p-value "
        f"is below alpha. The grid has {len(cells)} cells "
        f"(coupling x sharing x training size) with {seed_count(cells['n_seeds'])}.",
    ]
    return "\n".join([*lines, "", numerics] if numerics else lines)


def numerics_sentence(runs: pd.DataFrame, numerics: Mapping[str, Any] | None = None) -> str | None:
    """What the runs trained with (backend, precision, device, from ``runs``) and how the precision
    was chosen (the study's ``numerics.json``, when given); None where ``runs`` does not say."""
    if not set(NUMERICS_KEYS) <= set(runs.columns):
        return None
    used = sorted(set(zip(*(runs[key].astype(str) for key in NUMERICS_KEYS), strict=True)))
    if len(used) == 1:
        backend, precision, device = used[0]
        text = f"Every run trained with backend `{backend}` in {precision} on device `{device}`"
    else:
        mixed = ", ".join(f"`{numerics_label(*combo)}`" for combo in used)
        text = (
            f"The runs mix backend/precision/device ({mixed}); every multi-task run is compared with a "
            "single-task partner of the same numerics"
        )
    if numerics is not None:
        study = numerics_label(*(numerics[key] for key in NUMERICS_KEYS))
        setting = f"`precision: {numerics.get('setting', '?')}`"
        reason = numerics.get("decided_by", "no reason recorded")
        if len(used) == 1 and numerics_label(*used[0]) == study:
            text += f", as resolved once for the study from {setting}: {reason}"
        else:
            text += f"; the study resolved `{study}` once from {setting}: {reason}"
    return f"**Numerics.** {text}."


def _baseline_section(
    base: pd.DataFrame, summary: pd.DataFrame, target: str, metric: str, split: str, alpha: float, method: str
) -> str:
    """Whether the target beats its trivial baseline in each setting, in words and as a table."""
    if base.empty or base["n"].max() == 0:
        return f"**Trivial baseline.** No baseline values of `{target}`'s {metric} were recorded."
    beats = base[base["direction"] == "better"]
    others = base[base["direction"] != "better"]
    head = (
        f"**Trivial baseline.** `{target}`'s {metric} detectably beats its trivial baseline (majority class "
        f"or training mean) in {len(beats)} of {len(base)} settings ({method_name(method)}-adjusted "
        f"across the {len(base)} settings, alpha = {alpha:g}, {seed_count(base['n'])})."
    )
    lines = [head]
    if len(beats):
        lines.append(
            f"The margin over the baseline ranges from {number(beats['margin_mean'].min())} to "
            f"{number(beats['margin_mean'].max())} among them (largest adjusted p = "
            f"{number(beats['p_adjusted'].max())})."
        )
    for _, row in others.iterrows():
        verdict = "detectably worse than" if row["direction"] == "worse" else "not detectably better than"
        lines.append(
            f"- {setting_label(row)}: {verdict} the baseline: margin "
            f"{estimate(row['margin_mean'], row['ci_low'], row['ci_high'])}, adjusted p = "
            f"{number(row['p_adjusted'])}, {seed_count([row['n']])}."
        )
    keys = ["kind", "coupling", "sharing", "n_train"]
    rows = summary[(summary["task"] == target) & (summary["split"] == split) & (summary["metric"] == metric)]
    joined = base.merge(rows[[*keys, "mean", "ci_low", "ci_high"]], on=keys, how="left", suffixes=("", "_s"))
    table = markdown_table(
        [
            "setting",
            f"{metric} (95% CI)",
            "baseline",
            "margin (95% CI)",
            "adjusted p",
            "seeds",
            "beats baseline",
        ],
        [
            (
                setting_label(r),
                estimate(r["mean"], r["ci_low_s"], r["ci_high_s"]),
                number(r["baseline_mean"]),
                estimate(r["margin_mean"], r["ci_low"], r["ci_high"]),
                number(r["p_adjusted"]),
                int(r["n"]),
                {"better": "yes", "worse": "no (worse)", "none": "not detectably"}[r["direction"]],
            )
            for _, r in joined.iterrows()
        ],
    )
    caption = f"*{metric} (95% CI)*: the mean over seeds; its interval is {value_interval_method(metric)}."
    return "\n".join(lines) + "\n\n" + table + "\n\n" + caption


def _unadjusted_note(cells: pd.DataFrame, metric: str, method: str) -> str:
    """The cells whose own 95% interval excludes zero but that the adjusted test does not support."""
    undecided = cells[cells["direction"] == "none"]
    excludes = undecided[(undecided["gain_ci_low"] > 0) | (undecided["gain_ci_high"] < 0)]
    if excludes.empty:
        return ""
    n = len(cells)
    lines = [
        f"\nBefore adjustment, the 95% interval of the gain excludes zero in {len(excludes)} more of "
        f"{n} cells; each is one test among {n}, and after the {method_name(method)} adjustment none of "
        "them is a detectable difference, so read them as suggestive only:"
    ]
    for _, r in excludes.iterrows():
        word = "gain" if r["gain_ci_low"] > 0 else "loss"
        lines.append(f"- {cell_label(r)}: unadjusted {word}: {gain_clause(r, metric)}.")
    return "\n".join(lines)


def _comparison_section(cells: pd.DataFrame, metric: str, alpha: float, method: str) -> str:
    note = _unadjusted_note(cells, metric, method)
    return _adjusted_comparison(cells, metric, alpha, method) + ("\n" + note if note else "")


def _adjusted_comparison(cells: pd.DataFrame, metric: str, alpha: float, method: str) -> str:
    gains, losses = cells[cells["direction"] == "gain"], cells[cells["direction"] == "loss"]
    n = len(cells)
    intro = (
        f"**Multi-task vs single-task.** {method_name(method)}-adjusted across all {n} cells at alpha = "
        f"{alpha:g}:"
    )
    lines = [intro]
    if gains.empty and losses.empty:
        best = cells.loc[cells["p_adjusted"].fillna(np.inf).idxmin()]
        lines.append(
            f"no cell survives the adjustment: no detectable difference with {seed_count(cells['n_seeds'])}. "
            f"The smallest adjusted p-value is {number(best['p_adjusted'])}, at {cell_label(best)} "
            f"({gain_clause(best, metric)})."
        )
        return " ".join(lines)
    if len(gains) == n:
        lines.append(f"every cell ({n} of {n}) shows a detectable multi-task gain:")
    else:
        lines.append(
            f"a detectable multi-task gain in {len(gains)} of {n} cells" + (":" if len(gains) else ".")
        )
    text = " ".join(lines)
    bullets = [f"- {cell_label(r)}: {gain_clause(r, metric)}." for _, r in gains.iterrows()]
    if len(losses):
        bullets.append(f"\nA detectable multi-task loss in {len(losses)} of {n} cells:")
        bullets += [f"- {cell_label(r)}: {gain_clause(r, metric)}." for _, r in losses.iterrows()]
    rest = n - len(gains) - len(losses)
    if rest:
        bullets.append(
            f"\nThe other {rest} of {n} cells show no detectable difference with "
            f"{seed_count(cells.loc[cells['direction'] == 'none', 'n_seeds'])}."
        )
    return text + "\n\n" + "\n".join(bullets)


def _cells_table(cells: pd.DataFrame, metric: str) -> str:
    verdict = {"gain": "MTL better", "loss": "MTL worse", "none": "no detectable difference"}
    return markdown_table(
        [
            "coupling",
            "sharing",
            "n_train",
            f"MTL {metric}",
            f"STL {metric}",
            "gain (95% CI)",
            "relative change",
            "p",
            "adjusted p",
            "seeds",
            "verdict",
        ],
        [
            (
                r["coupling"],
                r["sharing"],
                int(r["n_train"]),
                number(r["mtl_mean"]),
                number(r["stl_mean"]),
                estimate(r["gain_mean"], r["gain_ci_low"], r["gain_ci_high"]),
                percent(r["relative_change"]),
                number(r["p_value"]),
                number(r["p_adjusted"]),
                int(r["n_seeds"]),
                verdict[r["direction"]],
            )
            for _, r in cells.iterrows()
        ],
    )


def _relative_section(rel: pd.DataFrame, alpha: float, method: str) -> str:
    lines = [
        "**Average relative improvement over all tasks of the coupling** (per task on its primary "
        "metric: (STL - MTL)/STL when lower is better, (MTL - STL)/STL when higher is better, paired by "
        "seed and size, averaged over the tasks of the coupling, then pooled over sizes and seeds; "
        f"one-sample t-test against 0, {method_name(method)}-adjusted across the {len(rel)} settings, "
        f"alpha = {alpha:g}):"
    ]
    words = {
        "gain": "detectable improvement",
        "loss": "detectable deterioration",
        "none": "no detectable difference",
    }
    for _, r in rel.iterrows():
        lines.append(
            f"- `{r['coupling']}` / `{r['sharing']}`: {percent(r['mean'])} (95% CI {percent(r['ci_low'])} to "
            f"{percent(r['ci_high'])}), adjusted p = {number(r['p_adjusted'])}, {int(r['n'])} (size, seed) "
            f"pairs, {seed_count([r['n_seeds']])}, {int(r['n_tasks'])} tasks: {words[r['direction']]}."
        )
    return "\n".join(lines)


def benefit_section(
    cells: pd.DataFrame,
    base: pd.DataFrame,
    rel: pd.DataFrame,
    summary: pd.DataFrame,
    target: str,
    metric: str,
    split: str,
    alpha: float,
    method: str,
) -> str:
    """Q1: the baseline, the comparison in words and as a table, the average relative improvement."""
    return "\n\n".join(
        [
            "## Q1. Is multi-task learning beneficial on the target?",
            _baseline_section(base, summary, target, metric, split, alpha, method),
            _comparison_section(cells, metric, alpha, method),
            _cells_table(cells, metric),
            _relative_section(rel, alpha, method),
        ]
    )
