"""Seaborn figures of the study (matplotlib's Agg backend; no Keras).

Couplings and sharing levels appear in the config's order (``couplings`` and ``sharings``, as in the
findings; see :func:`mtrl.ordering.ordered`), the single-task runs last.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from mtrl.kinds import MULTITASK, SINGLE
from mtrl.ordering import ordered
from mtrl.tasks import task_slug

SINGLE_TASK_LEVEL = "single-task"  # the sharing level the single-task runs are drawn as


def _save(grid_or_fig, path: str | os.PathLike) -> None:
    fig = getattr(grid_or_fig, "figure", grid_or_fig)
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _with_single_in_every_coupling(frame: pd.DataFrame, couplings: list[str]) -> pd.DataFrame:
    """Repeat the single-task rows in each coupling's facet, labelled as their own sharing level."""
    multi = frame[frame["kind"] == MULTITASK]
    single = frame[frame["kind"] == SINGLE]
    copies = [single.assign(coupling=c, sharing=SINGLE_TASK_LEVEL) for c in couplings]
    return pd.concat([multi, *copies], ignore_index=True)


def _multitask_couplings(frame: pd.DataFrame, couplings: Sequence[str] | None) -> list[str]:
    """The couplings of the multi-task rows, in ``couplings`` order, then as they appear."""
    return ordered(frame.loc[frame["kind"] == MULTITASK, "coupling"], couplings)


def _sharing_levels(frame: pd.DataFrame, sharings: Sequence[str] | None) -> list[str]:
    """The sharing levels of ``frame`` in ``sharings`` order, then as they appear; single-task last."""
    single = frame["sharing"] == SINGLE_TASK_LEVEL
    return ordered(frame.loc[~single, "sharing"], sharings) + ([SINGLE_TASK_LEVEL] if single.any() else [])


def learning_curves(
    histories: pd.DataFrame,
    target: str,
    path: str | os.PathLike,
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
) -> None:
    """Validation error (or RMSE) of the target by epoch, per sharing level and coupling.

    ``couplings`` and ``sharings`` give the config order of the columns and of the legend.
    """
    slug = task_slug(target)
    column = f"val_{slug}_error" if f"val_{slug}_error" in histories else f"val_{slug}_rmse"
    frame = histories[histories[column].notna()] if column in histories else histories.iloc[:0]
    if "network" in frame:  # a seed's single-task networks: one curve per seed, their mean
        keys = ["kind", "coupling", "sharing", "n_train", "seed", "epoch"]
        frame = frame.groupby(keys, as_index=False, sort=False)[column].mean()
    couplings = _multitask_couplings(frame, couplings)
    frame = _with_single_in_every_coupling(frame, couplings)
    grid = sns.relplot(
        data=frame,
        x="epoch",
        y=column,
        hue="sharing",
        hue_order=_sharing_levels(frame, sharings) or None,
        col="coupling",
        col_order=couplings or None,
        row="n_train",
        kind="line",
        errorbar=("ci", 95),
        height=2.6,
        aspect=1.4,
        facet_kws={"sharey": "row"},
    )
    grid.set_axis_labels(
        "epoch", f"validation {'error' if column.endswith('error') else 'RMSE (std. units)'}"
    )
    grid.figure.suptitle(f"Learning curves of {target} (mean over seeds, 95% CI)", y=1.02)
    _save(grid, path)


def training_size(
    summary: pd.DataFrame,
    target: str,
    metric: str,
    path: str | os.PathLike,
    split: str = "test",
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
) -> None:
    """Target metric vs training size per sharing level, faceted by coupling, with single-task.

    ``couplings`` and ``sharings`` give the config order of the panels and of the legend.
    """
    frame = summary[(summary["task"] == target) & (summary["metric"] == metric) & (summary["split"] == split)]
    couplings = _multitask_couplings(frame, couplings)
    frame = _with_single_in_every_coupling(frame, couplings)
    fig, axes = plt.subplots(
        1, len(couplings), figsize=(4.8 * len(couplings), 3.8), sharey=True, squeeze=False
    )
    levels = _sharing_levels(frame, sharings)
    palette = dict(zip(levels, sns.color_palette(n_colors=len(levels)), strict=True))
    for ax, coupling in zip(axes[0], couplings, strict=False):
        part = frame[frame["coupling"] == coupling].sort_values("n_train")
        for sharing in levels:
            line = part[part["sharing"] == sharing]
            if line.empty:
                continue
            style = "--" if sharing == SINGLE_TASK_LEVEL else "-"
            ax.errorbar(
                line["n_train"],
                line["mean"],
                yerr=[line["mean"] - line["ci_low"], line["ci_high"] - line["mean"]],
                label=sharing,
                linestyle=style,
                marker="o",
                capsize=3,
                color=palette[sharing],
            )
        base = part.groupby("n_train")["baseline_mean"].mean()
        ax.plot(base.index, base.values, ":", color="grey", label="trivial baseline")
        ax.set_xscale("log")
        ax.set_title(f"coupling: {coupling}")
        ax.set_xlabel("training size (target labels)")
        ax.set_ylabel(f"{split} {metric} of {target}")
    axes[0][-1].legend(title="sharing", fontsize=8)
    fig.suptitle("Target metric vs training size (mean over seeds, 95% CI)")
    _save(fig, path)


def gain_heatmap(
    comparison: pd.DataFrame,
    metric: str,
    path: str | os.PathLike,
    split: str = "test",
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
) -> None:
    """Mean multi-task gain on the target over sharing x training size, one panel per coupling.

    ``couplings`` and ``sharings`` give the config order of the panels and of the rows.
    """
    frame = comparison[(comparison["metric"] == metric) & (comparison["split"] == split)]
    couplings = ordered(frame["coupling"], couplings)
    fig, axes = plt.subplots(1, len(couplings), figsize=(4.6 * len(couplings), 3.4), squeeze=False)
    limit = float(np.nanmax(np.abs(frame["gain_mean"]))) if len(frame) else 1.0
    for ax, coupling in zip(axes[0], couplings, strict=False):
        part = frame[frame["coupling"] == coupling]
        gain = part.pivot(index="sharing", columns="n_train", values="gain_mean")
        gain = gain.reindex(ordered(part["sharing"], sharings))
        excludes_zero = part.assign(sig=(part["gain_ci_low"] > 0) | (part["gain_ci_high"] < 0))
        sig = excludes_zero.pivot(index="sharing", columns="n_train", values="sig").reindex_like(gain)
        labels = gain.map(lambda v: f"{v:+.3f}") + sig.map(lambda s: "*" if s is True else "")
        sns.heatmap(
            gain,
            annot=labels,
            fmt="",
            cmap="RdBu",
            center=0,
            vmin=-limit,
            vmax=limit,
            ax=ax,
            cbar=ax is axes[0][-1],
        )
        ax.set_title(f"coupling: {coupling}")
        ax.set_xlabel("training size")
        ax.set_ylabel("sharing")
    fig.suptitle(f"Multi-task gain in {split} {metric} (positive = better; * = 95% CI excludes 0)")
    _save(fig, path)


def correlation_heatmap(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Heatmap of pairwise task label correlations (training split)."""
    order = list(dict.fromkeys(table["task_a"]))
    matrix = table.pivot(index="task_a", columns="task_b", values="correlation").reindex(
        index=order, columns=order
    )
    size = max(3.5, 0.7 * len(order) + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(matrix, annot=True, fmt=".2f", cmap="RdBu", center=0, vmin=-1, vmax=1, ax=ax, square=True)
    ax.set_title("Task label correlation (training split; phi for binary pairs)")
    ax.set_xlabel("")
    ax.set_ylabel("")
    _save(fig, path)


def forest_plot(
    comparison: pd.DataFrame,
    metric: str,
    path: str | os.PathLike,
    split: str = "test",
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
) -> None:
    """Every cell's multi-task gain with its interval, one row per (coupling, sharing, size).

    Grouped by coupling, then sharing (config order), sizes ascending within each group; a
    vertical line at zero. Positive = multi-task better.
    """
    frame = comparison[(comparison["metric"] == metric) & (comparison["split"] == split)]
    couplings = ordered(frame["coupling"], couplings)
    sharings = ordered(frame["sharing"], sharings)
    frame = frame.assign(
        _c=frame["coupling"].map({c: i for i, c in enumerate(couplings)}),
        _s=frame["sharing"].map({s: i for i, s in enumerate(sharings)}),
    ).sort_values(["_c", "_s", "n_train"])
    labels = [f"{r.coupling} / {r.sharing} / n={r.n_train}" for r in frame.itertuples()]
    y = np.arange(len(frame))[::-1]
    palette = dict(zip(couplings, sns.color_palette("colorblind", len(couplings)), strict=False))
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.28 * max(1, len(frame))))
    for coupling in couplings:
        part = (frame["coupling"] == coupling).to_numpy()
        rows = frame[part]
        xerr = [rows["gain_mean"] - rows["gain_ci_low"], rows["gain_ci_high"] - rows["gain_mean"]]
        ax.errorbar(
            rows["gain_mean"],
            y[part],
            xerr=xerr,
            fmt="o",
            markersize=4,
            capsize=2,
            color=palette[coupling],
            label=coupling,
        )
    ax.axvline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel(f"multi-task gain in {split} {metric} (positive = better; 95% CI over seeds)")
    ax.set_title("Every cell's gain with its interval")
    ax.legend(title="coupling", fontsize=7, loc="best")
    _save(fig, path)
