"""Findings in words: the four research questions answered from the runs, comparison and summary tables.

Every sentence is generated from the numbers it cites (estimate, 95% interval, adjusted p-value, seeds),
and a difference is called detectable only when its interval excludes zero and its p-value, adjusted
for multiple comparisons (statsmodels ``multipletests``), is below alpha. Pure pandas, scipy.stats and
statsmodels: no Keras.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.anova import AnovaRM
from statsmodels.stats.multitest import multipletests

from mtrl.aggregate import primary_metric
from mtrl.stats import mean_interval, paired_difference
from mtrl.tasks import higher_is_better

CELL_KEYS = ["coupling", "sharing", "n_train"]
CONFIDENCE = 0.95
METHOD_NAMES = {
    "holm": "Holm",
    "fdr_bh": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni",
}


# --- statistics ---------------------------------------------------------------------------------


def adjust_p_values(p_values: Iterable[float], method: str = "holm") -> np.ndarray:
    """P-values adjusted for multiple comparisons with statsmodels; NaN p-values stay NaN, untested."""
    p = np.asarray(list(p_values), dtype=float)
    finite = np.isfinite(p)
    adjusted = np.full(p.shape, np.nan)
    # multipletests raises on an unknown method: check it even when nothing is finite.
    result = multipletests(p[finite] if finite.any() else np.array([1.0]), method=method)[1]
    if finite.any():
        adjusted[finite] = result
    return adjusted


def method_name(method: str) -> str:
    """Human name of a ``multipletests`` method (``holm`` -> ``Holm``), checking that it exists."""
    adjust_p_values([], method)
    return METHOD_NAMES.get(method, method)


def is_detectable(ci_low: float, ci_high: float, p_adjusted: float, alpha: float) -> bool:
    """Whether the interval excludes zero and the adjusted p-value is below ``alpha`` (NaN: no)."""
    return bool(p_adjusted < alpha and (ci_low > 0 or ci_high < 0))


def _direction(ci_low: float, ci_high: float, p_adjusted: float, alpha: float, words: tuple[str, str]) -> str:
    if not is_detectable(ci_low, ci_high, p_adjusted, alpha):
        return "none"
    return words[0] if ci_low > 0 else words[1]


def _with_adjustment(frame: pd.DataFrame, alpha: float, method: str, words: tuple[str, str]) -> pd.DataFrame:
    """Add ``p_adjusted`` (over all rows) and ``direction`` (``words[0]``, ``words[1]`` or ``none``)."""
    out = frame.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(p_adjusted=pd.Series(dtype=float), direction=pd.Series(dtype=str))
    out["p_adjusted"] = adjust_p_values(out["p_value"], method)
    out["direction"] = [
        _direction(lo, hi, p, alpha, words)
        for lo, hi, p in zip(out["ci_low"], out["ci_high"], out["p_adjusted"], strict=True)
    ]
    return out


def _difference_row(a, b) -> dict:
    d = paired_difference(np.asarray(a, dtype=float), np.asarray(b, dtype=float), CONFIDENCE)
    return {
        "n": d.n,
        "mean": d.mean,
        "sd": d.sd,
        "ci_low": d.ci_low,
        "ci_high": d.ci_high,
        "p_value": d.p_value,
    }


def _ordered(values: Iterable, preferred: Sequence | None = None) -> list:
    """Distinct ``values``: those in ``preferred`` first in its order, then the rest as they appear."""
    seen = list(dict.fromkeys(values))
    head = [v for v in (preferred or []) if v in seen]
    return head + [v for v in seen if v not in head]


# --- Q1: target vs baseline and multi-task vs single-task ---------------------------------------------


def target_cells(
    comparison: pd.DataFrame, metric: str, split: str = "test", alpha: float = 0.05, method: str = "holm"
) -> pd.DataFrame:
    """Comparison rows of ``metric`` on ``split`` with adjusted p-values across the whole grid.

    Adds ``p_adjusted``, ``direction`` (``gain``: multi-task detectably better, ``loss``: detectably
    worse, ``none``) and ``relative_change`` (multi-task minus single-task mean over the single-task
    mean: the relative change of the metric itself, e.g. -0.1 = error 10% lower).
    """
    rows = comparison[(comparison["split"] == split) & (comparison["metric"] == metric)]
    if rows.empty:
        raise ValueError(f"comparison has no {metric!r} rows on split {split!r}")
    bounds = rows.assign(ci_low=rows["gain_ci_low"], ci_high=rows["gain_ci_high"])
    cells = _with_adjustment(bounds, alpha, method, ("gain", "loss")).drop(columns=["ci_low", "ci_high"])
    stl = cells["stl_mean"].abs().replace(0.0, np.nan)
    cells["relative_change"] = (cells["mtl_mean"] - cells["stl_mean"]) / stl
    return cells


def baseline_cells(
    runs: pd.DataFrame,
    target: str,
    metric: str,
    split: str = "test",
    alpha: float = 0.05,
    method: str = "holm",
) -> pd.DataFrame:
    """Model vs its trivial baseline on the target, per run setting, paired by seed.

    ``margin`` is sign-adjusted (positive = the model beats the baseline); ``direction`` is ``better``,
    ``worse`` or ``none`` after adjusting the p-values across all settings.
    """
    rows = runs[(runs["task"] == target) & (runs["split"] == split) & (runs["metric"] == metric)]
    sign = 1.0 if higher_is_better(metric) else -1.0
    out = []
    for (kind, coupling, sharing, n_train), group in rows.groupby(
        ["kind", "coupling", "sharing", "n_train"], sort=False
    ):
        diff = _difference_row(sign * group["value"], sign * group["baseline"])
        out.append(
            {
                "kind": kind,
                "coupling": coupling,
                "sharing": sharing,
                "n_train": n_train,
                "model_mean": float(group["value"].mean()),
                "baseline_mean": float(group["baseline"].mean()),
                **{("margin_" + k if k in ("mean", "sd") else k): v for k, v in diff.items()},
            }
        )
    return _with_adjustment(pd.DataFrame(out), alpha, method, ("better", "worse"))


def seed_gains(runs: pd.DataFrame, target: str, metric: str, split: str = "test") -> pd.DataFrame:
    """Sign-adjusted multi-task minus single-task ``metric`` of the target, paired by size and seed."""
    rows = runs[(runs["task"] == target) & (runs["split"] == split) & (runs["metric"] == metric)]
    single = rows.loc[rows["kind"] == "single", ["n_train", "seed", "value"]]
    if single.duplicated(["n_train", "seed"]).any():
        raise ValueError(f"more than one single-task run of {target!r} per (n_train, seed)")
    multi = rows.loc[rows["kind"] == "multitask", [*CELL_KEYS, "seed", "value"]]
    merged = multi.merge(single, on=["n_train", "seed"], suffixes=("_mtl", "_stl"), how="inner")
    sign = 1.0 if higher_is_better(metric) else -1.0
    merged["gain"] = sign * (merged["value_mtl"] - merged["value_stl"])
    return merged.reset_index(drop=True)


def task_relative_improvements(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per multi-task run and task: relative improvement over the single-task run of that task.

    On each task's primary metric (error or RMSE), paired by size and seed: (STL - MTL) / |STL| for
    lower-is-better metrics and (MTL - STL) / |STL| for higher-is-better ones.
    """
    rows = runs[runs["split"] == split]
    frames = []
    for task, task_rows in rows.groupby("task", sort=False):
        metric = primary_metric(task_rows)
        part = task_rows[task_rows["metric"] == metric]
        single = part.loc[part["kind"] == "single", ["n_train", "seed", "value"]]
        multi = part.loc[part["kind"] == "multitask", [*CELL_KEYS, "seed", "value"]]
        merged = multi.merge(single, on=["n_train", "seed"], suffixes=("_mtl", "_stl"), how="inner")
        sign = 1.0 if higher_is_better(metric) else -1.0
        stl = merged["value_stl"].abs().replace(0.0, np.nan)
        merged["relative_improvement"] = sign * (merged["value_mtl"] - merged["value_stl"]) / stl
        frames.append(merged.assign(task=task, metric=metric))
    if not frames:
        raise ValueError(f"no runs on split {split!r}")
    return pd.concat(frames, ignore_index=True)


def average_relative_improvement(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """The multi-task literature's average relative improvement: per run, the mean over its tasks.

    One row per (coupling, sharing, n_train, seed) with ``delta`` (mean relative improvement over the
    tasks of the coupling) and ``n_tasks`` (tasks it averages).
    """
    per_task = task_relative_improvements(runs, split)
    grouped = per_task.groupby([*CELL_KEYS, "seed"], sort=False)["relative_improvement"]
    return grouped.agg(delta="mean", n_tasks="count").reset_index()


def relative_improvement_summary(
    deltas: pd.DataFrame, alpha: float = 0.05, method: str = "holm"
) -> pd.DataFrame:
    """Per (coupling, sharing): mean average relative improvement over sizes and seeds, t test vs 0."""
    out = []
    for (coupling, sharing), group in deltas.groupby(["coupling", "sharing"], sort=False):
        values = group["delta"].to_numpy(dtype=float)
        out.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                **_difference_row(values, np.zeros_like(values)),
                "n_seeds": group["seed"].nunique(),
                "n_sizes": group["n_train"].nunique(),
                "n_tasks": int(group["n_tasks"].max()),
            }
        )
    return _with_adjustment(pd.DataFrame(out), alpha, method, ("gain", "loss"))


# --- Q2: training-set size ------------------------------------------------------------------------


def largest_detectable_size(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (coupling, sharing) of ``target_cells``: the largest n_train with a detectable gain, else NA."""
    out = []
    for (coupling, sharing), group in cells.groupby(["coupling", "sharing"], sort=False):
        gains = group.loc[group["direction"] == "gain", "n_train"]
        out.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                "largest_n_train": int(gains.max()) if len(gains) else pd.NA,
            }
        )
    frame = pd.DataFrame(out, columns=["coupling", "sharing", "largest_n_train"])
    frame["largest_n_train"] = frame["largest_n_train"].astype("Int64")
    return frame


# --- Q3: coupling x multi-task gain -----------------------------------------------------------------


def coupling_interactions(
    gains: pd.DataFrame,
    couplings: Sequence[str] | None = None,
    alpha: float = 0.05,
    method: str = "holm",
    sharings: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Gain under one coupling minus gain under another, same sharing, paired by (size, seed).

    For each pair of couplings (in ``couplings`` order, then order of appearance) and each sharing
    level both have: pooled over all sizes (``scope`` ``all sizes``) and at the smallest size
    (``smallest size``; only this one when there is a single size). P-values are adjusted across all
    rows; ``direction`` is ``first`` or ``second`` (whose gain is detectably larger) or ``none``.
    """
    order = _ordered(gains["coupling"], couplings)
    out = []
    for first, second in itertools.combinations(order, 2):
        a = gains.loc[gains["coupling"] == first, ["sharing", "n_train", "seed", "gain"]]
        b = gains.loc[gains["coupling"] == second, ["sharing", "n_train", "seed", "gain"]]
        merged = a.merge(b, on=["sharing", "n_train", "seed"], suffixes=("_first", "_second"))
        for sharing in _ordered(merged["sharing"], sharings):
            part = merged[merged["sharing"] == sharing]
            smallest = int(part["n_train"].min())
            scopes = [("smallest size", smallest, part[part["n_train"] == smallest])]
            if part["n_train"].nunique() > 1:
                scopes.insert(0, ("all sizes", None, part))
            for scope, n_train, rows in scopes:
                out.append(
                    {
                        "first": first,
                        "second": second,
                        "sharing": sharing,
                        "scope": scope,
                        "n_train": n_train,
                        "sizes": tuple(sorted(int(n) for n in rows["n_train"].unique())),
                        "n_seeds": rows["seed"].nunique(),
                        **_difference_row(rows["gain_first"], rows["gain_second"]),
                    }
                )
    return _with_adjustment(pd.DataFrame(out), alpha, method, ("first", "second"))


# --- Q4: degree of sharing --------------------------------------------------------------------------


def sharing_means(gains: pd.DataFrame) -> pd.DataFrame:
    """Per (coupling, sharing): mean gain on the target pooled over sizes and seeds, with its t interval."""
    out = []
    for (coupling, sharing), group in gains.groupby(["coupling", "sharing"], sort=False):
        interval = mean_interval(group["gain"], CONFIDENCE)
        out.append(
            {
                "coupling": coupling,
                "sharing": sharing,
                "n": interval.n,
                "mean": interval.mean,
                "ci_low": interval.ci_low,
                "ci_high": interval.ci_high,
                "n_seeds": group["seed"].nunique(),
            }
        )
    return pd.DataFrame(out)


def sharing_comparison(
    gains: pd.DataFrame,
    alpha: float = 0.05,
    method: str = "holm",
    sharings: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per coupling: sharing levels ranked by mean gain, and the best minus the next, paired by (size, seed).

    P-values are adjusted across couplings; ``direction`` is ``best`` when the best level is detectably
    better than the next, else ``none``. Couplings with a single sharing level have NaN statistics.
    """
    out = []
    for coupling, group in gains.groupby("coupling", sort=False):
        means = group.groupby("sharing", sort=False)["gain"].mean()
        levels = _ordered(group["sharing"], sharings)
        ranking = sorted(levels, key=lambda s: -means[s])  # stable: ties keep the sharing order
        row = {
            "coupling": coupling,
            "ranking": tuple(ranking),
            "best": ranking[0],
            "best_mean": float(means[ranking[0]]),
        }
        if len(ranking) > 1:
            wide = group.pivot(index=["n_train", "seed"], columns="sharing", values="gain")
            row.update(
                next=ranking[1],
                next_mean=float(means[ranking[1]]),
                n_seeds=group["seed"].nunique(),
                **_difference_row(wide[ranking[0]], wide[ranking[1]]),
            )
        else:
            row.update(
                next=None,
                next_mean=math.nan,
                n_seeds=group["seed"].nunique(),
                n=0,
                mean=math.nan,
                sd=math.nan,
                ci_low=math.nan,
                ci_high=math.nan,
                p_value=math.nan,
            )
        out.append(row)
    return _with_adjustment(pd.DataFrame(out), alpha, method, ("best", "next"))


@dataclass(frozen=True)
class InteractionTest:
    """Repeated-measures ANOVA F test of the coupling x sharing interaction on the gain."""

    f_value: float
    df_num: float
    df_den: float
    p_value: float
    n_subjects: int
    couplings: tuple[str, ...]
    sharings: tuple[str, ...]


def sharing_coupling_interaction(gains: pd.DataFrame) -> InteractionTest | None:
    """Coupling x sharing interaction on the gain (statsmodels ``AnovaRM``, subjects = (size, seed)).

    Uses the sharing levels every coupling has and the (size, seed) pairs with a gain in every cell;
    None when there are fewer than two couplings, two shared sharing levels or two complete subjects.
    """
    data = gains.dropna(subset=["gain"])
    couplings = _ordered(data["coupling"])
    per_coupling = [set(data.loc[data["coupling"] == c, "sharing"]) for c in couplings]
    sharings = [s for s in _ordered(data["sharing"]) if all(s in levels for levels in per_coupling)]
    if len(couplings) < 2 or len(sharings) < 2:
        return None
    data = data[data["sharing"].isin(sharings)].drop_duplicates([*CELL_KEYS, "seed"])
    data = data.assign(subject=data["n_train"].astype(str) + "/" + data["seed"].astype(str))
    cells = data.groupby("subject")["gain"].transform("size")
    data = data[cells == len(couplings) * len(sharings)]
    n_subjects = data["subject"].nunique()
    if n_subjects < 2:
        return None
    table = AnovaRM(data, depvar="gain", subject="subject", within=["coupling", "sharing"]).fit().anova_table
    row = table.loc["coupling:sharing"]
    return InteractionTest(
        float(row["F Value"]),
        float(row["Num DF"]),
        float(row["Den DF"]),
        float(row["Pr > F"]),
        n_subjects,
        tuple(couplings),
        tuple(sharings),
    )


# --- wording ---------------------------------------------------------------------------------------------


def _num(x: float) -> str:
    if x is None or pd.isna(x):
        return "n/a"
    return "0" if abs(float(x)) < 1e-12 else f"{float(x):.3g}"  # float noise of an exact zero


def _pct(x: float) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{100 * float(x):+.1f}%"


def _estimate(mean: float, lo: float, hi: float) -> str:
    return f"{_num(mean)} (95% CI {_num(lo)} to {_num(hi)})"


def _seeds(counts: Iterable) -> str:
    values = sorted({int(n) for n in counts if pd.notna(n)})
    if not values:
        return "0 seeds"
    if len(values) == 1:
        return f"{values[0]} seed" + ("" if values[0] == 1 else "s")
    return f"{values[0]} to {values[-1]} seeds"


def _cell(row) -> str:
    return f"`{row['coupling']}` / `{row['sharing']}` / n = {int(row['n_train'])}"


def _gain_clause(row, metric: str) -> str:
    return (
        f"gain {_estimate(row['gain_mean'], row['gain_ci_low'], row['gain_ci_high'])}, "
        f"adjusted p = {_num(row['p_adjusted'])}, {_seeds([row['n_seeds']])}; {metric} "
        f"{_num(row['mtl_mean'])} multi-task vs {_num(row['stl_mean'])} single-task "
        f"(relative change {_pct(row['relative_change'])})"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _sort_cells(frame: pd.DataFrame, couplings: list, sharings: list) -> pd.DataFrame:
    rank_c = {c: i for i, c in enumerate(couplings)}
    rank_s = {s: i for i, s in enumerate(sharings)}
    keys = frame.assign(
        _c=frame["coupling"].map(rank_c).fillna(len(rank_c)),
        _s=frame["sharing"].map(rank_s).fillna(len(rank_s)),
    )
    by = ["_c", "_s"] + (["n_train"] if "n_train" in frame else [])
    return keys.sort_values(by, kind="stable").drop(columns=["_c", "_s"]).reset_index(drop=True)


def _header(target: str, metric: str, split: str, alpha: float, method: str, cells: pd.DataFrame) -> str:
    better = "higher" if higher_is_better(metric) else "lower"
    return "\n".join(
        [
            f"# Findings: does multi-task learning help `{target}`?",
            "",
            f"Primary metric: **{metric}** on the {split} split ({better} is better). A gain is "
            f"sign-adjusted so that a positive gain means multi-task is better than single-task on "
            f"`{target}`, paired by seed and training size. Intervals are two-sided 95% t intervals over "
            f"seeds; p-values are paired t-tests (scipy.stats), adjusted with the {method_name(method)} "
            f"method (statsmodels) within each family of tests named below, at alpha = {alpha:g}. A "
            f"difference is called detectable only when its interval excludes zero and its adjusted p-value "
            f"is below alpha. The grid has {len(cells)} cells "
            f"(coupling x sharing x training size) with {_seeds(cells['n_seeds'])}.",
        ]
    )


def _baseline_section(
    base: pd.DataFrame, summary: pd.DataFrame, target: str, metric: str, split: str, alpha: float, method: str
) -> str:
    if base.empty or base["n"].max() == 0:
        return f"**Trivial baseline.** No baseline values of `{target}`'s {metric} were recorded."
    beats = base[base["direction"] == "better"]
    others = base[base["direction"] != "better"]
    head = (
        f"**Trivial baseline.** `{target}`'s {metric} detectably beats its trivial baseline (majority class "
        f"or training mean) in {len(beats)} of {len(base)} settings ({method_name(method)}-adjusted "
        f"across the {len(base)} settings, alpha = {alpha:g}, {_seeds(base['n'])})."
    )
    lines = [head]
    if len(beats):
        lines.append(
            f"The margin over the baseline ranges from {_num(beats['margin_mean'].min())} to "
            f"{_num(beats['margin_mean'].max())} among them (largest adjusted p = "
            f"{_num(beats['p_adjusted'].max())})."
        )
    for _, row in others.iterrows():
        verdict = "detectably worse than" if row["direction"] == "worse" else "not detectably better than"
        lines.append(
            f"- {_setting(row)}: {verdict} the baseline: margin "
            f"{_estimate(row['margin_mean'], row['ci_low'], row['ci_high'])}, adjusted p = "
            f"{_num(row['p_adjusted'])}, {_seeds([row['n']])}."
        )
    keys = ["kind", "coupling", "sharing", "n_train"]
    rows = summary[(summary["task"] == target) & (summary["split"] == split) & (summary["metric"] == metric)]
    joined = base.merge(rows[[*keys, "mean", "ci_low", "ci_high"]], on=keys, how="left", suffixes=("", "_s"))
    table = _table(
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
                _setting(r),
                _estimate(r["mean"], r["ci_low_s"], r["ci_high_s"]),
                _num(r["baseline_mean"]),
                _estimate(r["margin_mean"], r["ci_low"], r["ci_high"]),
                _num(r["p_adjusted"]),
                int(r["n"]),
                {"better": "yes", "worse": "no (worse)", "none": "not detectably"}[r["direction"]],
            )
            for _, r in joined.iterrows()
        ],
    )
    return "\n".join(lines) + "\n\n" + table


def _setting(row) -> str:
    if row["kind"] == "single":
        return f"single-task / n = {int(row['n_train'])}"
    return _cell(row)


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
        lines.append(f"- {_cell(r)}: unadjusted {word}: {_gain_clause(r, metric)}.")
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
            f"no cell survives the adjustment: no detectable difference with {_seeds(cells['n_seeds'])}. "
            f"The smallest adjusted p-value is {_num(best['p_adjusted'])}, at {_cell(best)} "
            f"({_gain_clause(best, metric)})."
        )
        return " ".join(lines)
    if len(gains) == n:
        lines.append(f"every cell ({n} of {n}) shows a detectable multi-task gain:")
    else:
        lines.append(
            f"a detectable multi-task gain in {len(gains)} of {n} cells" + (":" if len(gains) else ".")
        )
    text = " ".join(lines)
    bullets = [f"- {_cell(r)}: {_gain_clause(r, metric)}." for _, r in gains.iterrows()]
    if len(losses):
        bullets.append(f"\nA detectable multi-task loss in {len(losses)} of {n} cells:")
        bullets += [f"- {_cell(r)}: {_gain_clause(r, metric)}." for _, r in losses.iterrows()]
    rest = n - len(gains) - len(losses)
    if rest:
        bullets.append(
            f"\nThe other {rest} of {n} cells show no detectable difference with "
            f"{_seeds(cells.loc[cells['direction'] == 'none', 'n_seeds'])}."
        )
    return text + "\n\n" + "\n".join(bullets)


def _cells_table(cells: pd.DataFrame, metric: str) -> str:
    verdict = {"gain": "MTL better", "loss": "MTL worse", "none": "no detectable difference"}
    return _table(
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
                _num(r["mtl_mean"]),
                _num(r["stl_mean"]),
                _estimate(r["gain_mean"], r["gain_ci_low"], r["gain_ci_high"]),
                _pct(r["relative_change"]),
                _num(r["p_value"]),
                _num(r["p_adjusted"]),
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
            f"- `{r['coupling']}` / `{r['sharing']}`: {_pct(r['mean'])} (95% CI {_pct(r['ci_low'])} to "
            f"{_pct(r['ci_high'])}), adjusted p = {_num(r['p_adjusted'])}, {int(r['n'])} (size, seed) pairs, "
            f"{_seeds([r['n_seeds']])}, {int(r['n_tasks'])} tasks: {words[r['direction']]}."
        )
    return "\n".join(lines)


def _q1(
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
    return "\n\n".join(
        [
            "## Q1. Is multi-task learning beneficial on the target?",
            _baseline_section(base, summary, target, metric, split, alpha, method),
            _comparison_section(cells, metric, alpha, method),
            _cells_table(cells, metric),
            _relative_section(rel, alpha, method),
        ]
    )


def _q2(cells: pd.DataFrame, largest: pd.DataFrame, metric: str) -> str:
    sizes = sorted(int(n) for n in cells["n_train"].unique())
    lines = [
        "## Q2. How does training-set size change it?",
        "",
        f"Training sizes: {', '.join(str(n) for n in sizes)}. Per coupling and sharing, the largest size at "
        f"which the multi-task gain on the target is still detectable (adjusted as in Q1):",
    ]
    for _, row in largest.iterrows():
        group = cells[(cells["coupling"] == row["coupling"]) & (cells["sharing"] == row["sharing"])]
        label = f"`{row['coupling']}` / `{row['sharing']}`"
        if pd.isna(row["largest_n_train"]):
            best = group.loc[group["gain_mean"].idxmax()]
            text = (
                f"- {label}: not detectable at any size (largest gain at n = {int(best['n_train'])}: "
                f"{_estimate(best['gain_mean'], best['gain_ci_low'], best['gain_ci_high'])}, adjusted p = "
                f"{_num(best['p_adjusted'])}, {_seeds([best['n_seeds']])})"
            )
        else:
            at = group[group["n_train"] == row["largest_n_train"]].iloc[0]
            text = f"- {label}: n = {int(at['n_train'])} ({_gain_clause(at, metric)})"
            larger = group[group["n_train"] > at["n_train"]]
            if len(larger):
                top = larger.loc[larger["n_train"].idxmax()]
                text += (
                    f"; at the largest size n = {int(top['n_train'])}: gain "
                    f"{_estimate(top['gain_mean'], top['gain_ci_low'], top['gain_ci_high'])}, adjusted p = "
                    f"{_num(top['p_adjusted'])}, {_seeds([top['n_seeds']])}"
                )
        if len(group) > 1:
            text += "; gain by size: " + ", ".join(
                f"n = {int(r['n_train'])}: {_num(r['gain_mean'])} (adjusted p = {_num(r['p_adjusted'])})"
                for _, r in group.sort_values("n_train").iterrows()
            )
        losses = group[group["direction"] == "loss"]
        if len(losses):
            text += "; detectable multi-task loss at n = " + ", ".join(
                f"{int(r['n_train'])} (gain "
                f"{_estimate(r['gain_mean'], r['gain_ci_low'], r['gain_ci_high'])}, "
                f"adjusted p = {_num(r['p_adjusted'])})"
                for _, r in losses.iterrows()
            )
        lines.append(text + ".")
    return "\n".join(lines)


def _q3(inter: pd.DataFrame, couplings: list, alpha: float, method: str) -> str:
    head = "## Q3. How does task coupling change it?"
    if len(couplings) < 2:
        return (
            f"{head}\n\nOnly one coupling ({', '.join(f'`{c}`' for c in couplings)}) was run, so the effect "
            "of coupling cannot be estimated."
        )
    if inter.empty:
        return f"{head}\n\nThe couplings share no (sharing, size, seed) runs, so they cannot be compared."
    lines = [
        head,
        "",
        "Interaction = multi-task gain under the first coupling minus the gain under the second, same "
        "sharing, paired by seed and size; 95% t interval and paired t-test (scipy.stats), "
        f"{method_name(method)}-adjusted across the {len(inter)} interaction tests, alpha = {alpha:g}.",
    ]
    for (first, second), group in inter.groupby(["first", "second"], sort=False):
        lines.append(f"\n`{first}` minus `{second}`:")
        for _, r in group.iterrows():
            scope = (
                f"all sizes ({', '.join(str(n) for n in r['sizes'])})"
                if r["scope"] == "all sizes"
                else f"smallest size n = {int(r['n_train'])}"
            )
            if r["direction"] == "none":
                verdict = "not significant after adjustment"
            else:
                winner = first if r["direction"] == "first" else second
                verdict = f"significant: `{winner}` gains more"
            lines.append(
                f"- `{r['sharing']}`, {scope}: {_estimate(r['mean'], r['ci_low'], r['ci_high'])}, p = "
                f"{_num(r['p_value'])}, adjusted p = {_num(r['p_adjusted'])}, {int(r['n'])} (size, seed) "
                f"pairs, {_seeds([r['n_seeds']])}: {verdict}."
            )
    return "\n".join(lines)


def _q4(
    comp: pd.DataFrame,
    means: pd.DataFrame,
    test: InteractionTest | None,
    alpha: float,
    method: str,
) -> str:
    lines = [
        "## Q4. How does the degree of sharing matter?",
        "",
        f"Mean multi-task gain on the target per sharing level, pooled over sizes and seeds; the best level "
        f"minus the next is paired by (size, seed), {method_name(method)}-adjusted across the {len(comp)} "
        f"couplings, alpha = {alpha:g}.",
    ]
    for _, r in comp.iterrows():
        part = means[means["coupling"] == r["coupling"]].set_index("sharing")
        ranking = " > ".join(
            f"`{s}` {_estimate(part.loc[s, 'mean'], part.loc[s, 'ci_low'], part.loc[s, 'ci_high'])}"
            for s in r["ranking"]
        )
        text = f"- `{r['coupling']}`: {ranking} ({_seeds([r['n_seeds']])})."
        if r["next"] is None:
            text += " Only one sharing level was run."
        else:
            verdict = (
                "significant"
                if r["direction"] == "best"
                else "not distinguishable after adjustment"
                if r["direction"] == "none"
                else "significant in the other direction"
            )
            text += (
                f" Best `{r['best']}` minus next `{r['next']}`: "
                f"{_estimate(r['mean'], r['ci_low'], r['ci_high'])}, p = {_num(r['p_value'])}, adjusted p = "
                f"{_num(r['p_adjusted'])}, {int(r['n'])} (size, seed) pairs: {verdict}."
            )
        lines.append(text)
    if len(comp) < 2:
        lines.append("\nWith one coupling, the interaction of sharing with coupling cannot be estimated.")
        return "\n".join(lines)
    rankings = {r["coupling"]: tuple(s for s in r["ranking"]) for _, r in comp.iterrows()}
    if test is not None:
        common = [tuple(s for s in ranking if s in test.sharings) for ranking in rankings.values()]
        same = len(set(common)) == 1
    else:
        same = len(set(rankings.values())) == 1
    listing = "; ".join(f"`{c}`: {' > '.join(r)}" for c, r in rankings.items())
    lines.append(
        f"\nThe observed ranking of sharing levels is {'the same' if same else 'different'} across couplings "
        f"({listing})."
    )
    if test is None:
        lines.append(
            "The coupling x sharing interaction could not be tested (too few complete (size, seed) runs "
            "over shared sharing levels)."
        )
    elif pd.isna(test.p_value):
        lines.append(
            f"The repeated-measures ANOVA of the coupling x sharing interaction is undefined "
            f"(F = {_num(test.f_value)}, {test.n_subjects} (size, seed) subjects)."
        )
    else:
        significant = test.p_value < alpha
        levels = ", ".join(f"`{s}`" for s in test.sharings)
        lines.append(
            f"Repeated-measures ANOVA of the gain (statsmodels AnovaRM; subjects: {test.n_subjects} "
            f"(size, seed) pairs; sharing levels {levels}), coupling x sharing "
            f"interaction: F({_num(test.df_num)}, {_num(test.df_den)}) = {_num(test.f_value)}, "
            f"p = {_num(test.p_value)}: "
            + (
                f"significant at alpha = {alpha:g}, so the best degree of sharing depends on the coupling."
                if significant
                else f"not significant at alpha = {alpha:g}, so the data do not show that the best degree of "
                "sharing depends on the coupling."
            )
        )
    return "\n".join(lines)


def _auxiliary(cells: pd.DataFrame, metric: str, alpha: float, method: str) -> str:
    smallest = int(cells["n_train"].min())
    at = cells[cells["n_train"] == smallest]
    gains = at[at["direction"] == "gain"]
    head = (
        "## Does plentiful auxiliary data help a scarce target?\n\n"
        "In this study the auxiliary tasks were trained on all their labelled rows while the target had "
        "only n_train labels, so the Q1 comparison answers this directly."
    )
    if gains.empty:
        best = at.loc[at["gain_mean"].idxmax()]
        return (
            f"{head} At the smallest target size n = {smallest}: no detectable difference with "
            f"{_seeds(at['n_seeds'])} ({method_name(method)}-adjusted, alpha = {alpha:g}; largest gain at "
            f"{_cell(best)}: {_gain_clause(best, metric)})."
        )
    best = gains.loc[gains["gain_mean"].idxmax()]
    return (
        f"{head} At the smallest target size n = {smallest}, {len(gains)} of {len(at)} settings show a "
        f"detectable multi-task gain ({method_name(method)}-adjusted, alpha = {alpha:g}); the largest is "
        f"{_cell(best)}: {_gain_clause(best, metric)}. Across all sizes, "
        f"{int((cells['direction'] == 'gain').sum())} of {len(cells)} cells show a detectable gain."
    )


def write_findings(
    runs: pd.DataFrame,
    comparison: pd.DataFrame,
    summary: pd.DataFrame,
    target: str,
    split: str = "test",
    alpha: float = 0.05,
    method: str = "holm",
    auxiliary_all_labels: bool = False,
    *,
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
) -> str:
    """Markdown answering the four research questions, every sentence citing the numbers behind it.

    ``method`` is a statsmodels ``multipletests`` method (``holm``, ``fdr_bh``, ...). ``couplings`` and
    ``sharings`` give the config order (default: order of appearance); Q3 compares each pair of
    couplings in that order (first minus second).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    method_name(method)
    metric = primary_metric(runs, target)
    cells = target_cells(comparison, metric, split, alpha, method)
    coupling_order = _ordered(cells["coupling"], couplings)
    sharing_order = _ordered(cells["sharing"], sharings)
    cells = _sort_cells(cells, coupling_order, sharing_order)
    gains = _sort_cells(seed_gains(runs, target, metric, split), coupling_order, sharing_order)
    base = baseline_cells(runs, target, metric, split, alpha, method)
    deltas = average_relative_improvement(runs, split)
    rel = relative_improvement_summary(_sort_cells(deltas, coupling_order, sharing_order), alpha, method)
    inter = coupling_interactions(gains, coupling_order, alpha, method, sharing_order)
    comp = sharing_comparison(gains, alpha, method, sharing_order)
    sections = [
        _header(target, metric, split, alpha, method, cells),
        _q1(cells, base, rel, summary, target, metric, split, alpha, method),
        _q2(cells, largest_detectable_size(cells), metric),
        _q3(inter, coupling_order, alpha, method),
        _q4(comp, sharing_means(gains), sharing_coupling_interaction(gains), alpha, method),
    ]
    if auxiliary_all_labels:
        sections.append(_auxiliary(cells, metric, alpha, method))
    return "\n\n".join(sections) + "\n"
