"""Findings, Q2 to Q4: how training-set size, task coupling and the degree of sharing change the gain;
and, for studies whose auxiliary tasks use all their labels, whether that helps a scarce target."""

from __future__ import annotations

import pandas as pd

from mtrl.findings.wording import cell_label, estimate, gain_clause, number, seed_count
from mtrl.stats.interactions import InteractionTest
from mtrl.stats.multiplicity import method_name


def size_section(cells: pd.DataFrame, largest: pd.DataFrame, metric: str) -> str:
    """Q2: per coupling and sharing, the largest training size with a detectable gain."""
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
                f"{estimate(best['gain_mean'], best['gain_ci_low'], best['gain_ci_high'])}, adjusted p = "
                f"{number(best['p_adjusted'])}, {seed_count([best['n_seeds']])})"
            )
        else:
            at = group[group["n_train"] == row["largest_n_train"]].iloc[0]
            text = f"- {label}: n = {int(at['n_train'])} ({gain_clause(at, metric)})"
            larger = group[group["n_train"] > at["n_train"]]
            if len(larger):
                top = larger.loc[larger["n_train"].idxmax()]
                text += (
                    f"; at the largest size n = {int(top['n_train'])}: gain "
                    f"{estimate(top['gain_mean'], top['gain_ci_low'], top['gain_ci_high'])}, adjusted p = "
                    f"{number(top['p_adjusted'])}, {seed_count([top['n_seeds']])}"
                )
        if len(group) > 1:
            text += "; gain by size: " + ", ".join(
                f"n = {int(r['n_train'])}: {number(r['gain_mean'])} (adjusted p = {number(r['p_adjusted'])})"
                for _, r in group.sort_values("n_train").iterrows()
            )
        losses = group[group["direction"] == "loss"]
        if len(losses):
            text += "; detectable multi-task loss at n = " + ", ".join(
                f"{int(r['n_train'])} (gain "
                f"{estimate(r['gain_mean'], r['gain_ci_low'], r['gain_ci_high'])}, "
                f"adjusted p = {number(r['p_adjusted'])})"
                for _, r in losses.iterrows()
            )
        lines.append(text + ".")
    return "\n".join(lines)


def coupling_section(inter: pd.DataFrame, couplings: list, alpha: float, method: str) -> str:
    """Q3: the gain under one coupling minus the gain under another, per sharing level."""
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
                f"- `{r['sharing']}`, {scope}: {estimate(r['mean'], r['ci_low'], r['ci_high'])}, p = "
                f"{number(r['p_value'])}, adjusted p = {number(r['p_adjusted'])}, {int(r['n'])} (size, seed) "
                f"pairs, {seed_count([r['n_seeds']])}: {verdict}."
            )
    return "\n".join(lines)


def sharing_section(
    comp: pd.DataFrame,
    means: pd.DataFrame,
    test: InteractionTest | None,
    alpha: float,
    method: str,
) -> str:
    """Q4: sharing levels ranked per coupling, best minus next, and the coupling x sharing interaction."""
    lines = [
        "## Q4. How does the degree of sharing matter?",
        "",
        f"Mean multi-task gain on the target per sharing level, pooled over sizes and seeds; the best level "
        f"minus the next is paired by (size, seed), {method_name(method)}-adjusted across the {len(comp)} "
        f"couplings, alpha = {alpha:g}.",
    ]
    lines += [_ranking_line(r, means) for _, r in comp.iterrows()]
    if len(comp) < 2:
        lines.append("\nWith one coupling, the interaction of sharing with coupling cannot be estimated.")
        return "\n".join(lines)
    return "\n".join(lines + _interaction_lines(comp, test, alpha))


def _ranking_line(r, means: pd.DataFrame) -> str:
    """One coupling's sharing levels by mean gain, and the best minus the next."""
    part = means[means["coupling"] == r["coupling"]].set_index("sharing")
    ranking = " > ".join(
        f"`{s}` {estimate(part.loc[s, 'mean'], part.loc[s, 'ci_low'], part.loc[s, 'ci_high'])}"
        for s in r["ranking"]
    )
    text = f"- `{r['coupling']}`: {ranking} ({seed_count([r['n_seeds']])})."
    if r["next"] is None:
        return text + " Only one sharing level was run."
    verdict = (
        "significant"
        if r["direction"] == "best"
        else "not distinguishable after adjustment"
        if r["direction"] == "none"
        else "significant in the other direction"
    )
    return text + (
        f" Best `{r['best']}` minus next `{r['next']}`: "
        f"{estimate(r['mean'], r['ci_low'], r['ci_high'])}, p = {number(r['p_value'])}, adjusted p = "
        f"{number(r['p_adjusted'])}, {int(r['n'])} (size, seed) pairs: {verdict}."
    )


def _interaction_lines(comp: pd.DataFrame, test: InteractionTest | None, alpha: float) -> list[str]:
    """Whether the rankings agree across couplings, and the ANOVA of the coupling x sharing interaction."""
    rankings = {r["coupling"]: tuple(s for s in r["ranking"]) for _, r in comp.iterrows()}
    if test is not None:
        common = [tuple(s for s in ranking if s in test.sharings) for ranking in rankings.values()]
        same = len(set(common)) == 1
    else:
        same = len(set(rankings.values())) == 1
    listing = "; ".join(f"`{c}`: {' > '.join(r)}" for c, r in rankings.items())
    lines = [
        f"\nThe observed ranking of sharing levels is {'the same' if same else 'different'} across couplings "
        f"({listing})."
    ]
    if test is None:
        lines.append(
            "The coupling x sharing interaction could not be tested (too few complete (size, seed) runs "
            "over shared sharing levels)."
        )
    elif pd.isna(test.p_value):
        lines.append(
            f"The repeated-measures ANOVA of the coupling x sharing interaction is undefined "
            f"(F = {number(test.f_value)}, {test.n_subjects} (size, seed) subjects)."
        )
    else:
        significant = test.p_value < alpha
        levels = ", ".join(f"`{s}`" for s in test.sharings)
        lines.append(
            f"Repeated-measures ANOVA of the gain (statsmodels AnovaRM; subjects: {test.n_subjects} "
            f"(size, seed) pairs; sharing levels {levels}), coupling x sharing "
            f"interaction: F({number(test.df_num)}, {number(test.df_den)}) = {number(test.f_value)}, "
            f"p = {number(test.p_value)}: "
            + (
                f"significant at alpha = {alpha:g}, so the best degree of sharing depends on the coupling."
                if significant
                else f"not significant at alpha = {alpha:g}, so the data do not show that the best degree of "
                "sharing depends on the coupling."
            )
        )
    return lines


def auxiliary_section(cells: pd.DataFrame, metric: str, alpha: float, method: str) -> str:
    """Whether plentiful auxiliary data help a scarce target (the smallest size of Q1)."""
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
            f"{seed_count(at['n_seeds'])} ({method_name(method)}-adjusted, alpha = {alpha:g}; largest gain "
            f"at {cell_label(best)}: {gain_clause(best, metric)})."
        )
    best = gains.loc[gains["gain_mean"].idxmax()]
    return (
        f"{head} At the smallest target size n = {smallest}, {len(gains)} of {len(at)} settings show a "
        f"detectable multi-task gain ({method_name(method)}-adjusted, alpha = {alpha:g}); the largest is "
        f"{cell_label(best)}: {gain_clause(best, metric)}. Across all sizes, "
        f"{int((cells['direction'] == 'gain').sum())} of {len(cells)} cells show a detectable gain."
    )
