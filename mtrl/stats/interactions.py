"""How the multi-task gain depends on coupling and sharing: paired contrasts and the two-way
repeated-measures ANOVA interaction (statsmodels ``AnovaRM``)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from statsmodels.stats.anova import AnovaRM

from mtrl.ordering import ordered
from mtrl.stats.intervals import CONFIDENCE, difference_row, mean_interval
from mtrl.stats.multiplicity import with_adjustment
from mtrl.stats.pairing import CELL_KEYS

UNTESTED = ("mean", "sd", "ci_low", "ci_high", "p_value")  # NaN for a coupling with one sharing level


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
    order = ordered(gains["coupling"], couplings)
    out = []
    for first, second in itertools.combinations(order, 2):
        a = gains.loc[gains["coupling"] == first, ["sharing", "n_train", "seed", "gain"]]
        b = gains.loc[gains["coupling"] == second, ["sharing", "n_train", "seed", "gain"]]
        merged = a.merge(b, on=["sharing", "n_train", "seed"], suffixes=("_first", "_second"))
        for sharing in ordered(merged["sharing"], sharings):
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
                        **difference_row(rows["gain_first"], rows["gain_second"]),
                    }
                )
    return with_adjustment(pd.DataFrame(out), alpha, method, ("first", "second"))


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
        levels = ordered(group["sharing"], sharings)
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
                **difference_row(wide[ranking[0]], wide[ranking[1]]),
            )
        else:
            row.update(
                next=None,
                next_mean=math.nan,
                n_seeds=group["seed"].nunique(),
                n=0,
                **dict.fromkeys(UNTESTED, math.nan),
            )
        out.append(row)
    return with_adjustment(pd.DataFrame(out), alpha, method, ("best", "next"))


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
    couplings = ordered(data["coupling"])
    per_coupling = [set(data.loc[data["coupling"] == c, "sharing"]) for c in couplings]
    sharings = [s for s in ordered(data["sharing"]) if all(s in levels for levels in per_coupling)]
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
