"""Figures list couplings and sharing levels in the config's order, as the findings do."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mtrl import plots
from mtrl.aggregate import comparison_table, histories_table, summary_table
from mtrl.ordering import ordered, sort_cells
from study_runs import CROSSED, TARGET

# Each order asked for below differs from the order the figure had before the config order was passed
# (alphabetical, or the order of appearance in the table drawn).
pytestmark = pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")


@pytest.fixture
def drawn(monkeypatch):
    """The figures (or seaborn grids) the plot functions would save."""
    figures = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure))
    yield figures
    for figure in figures:
        plt.close(getattr(figure, "figure", figure))


def test_ordered_puts_the_preferred_order_first_then_order_of_appearance():
    assert ordered(["b", "c", "a", "b"], ["a", "x", "b"]) == ["a", "b", "c"]
    assert ordered(["b", "c", "a"]) == ["b", "c", "a"]


def test_sort_cells_by_coupling_then_sharing_then_size():
    frame = pd.DataFrame({
        "coupling": ["x", "tight", "loose", "loose"],
        "sharing": ["low", "low", "low", "high"],
        "n_train": [100, 400, 400, 100],
    })  # fmt: skip
    got = sort_cells(frame.iloc[[0, 2, 3, 1]], ["loose", "tight"], ["high", "low"])
    assert list(zip(got["coupling"], got["sharing"], strict=True)) == [
        ("loose", "high"),
        ("loose", "low"),
        ("tight", "low"),
        ("x", "low"),
    ]


def test_gain_heatmap_follows_the_config_order(drawn):
    comparison = comparison_table(CROSSED, TARGET)
    plots.gain_heatmap(
        comparison, "error", "unused.png", couplings=["tight", "loose"], sharings=["low", "high"]
    )
    axes = [ax for ax in drawn[0].axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["coupling: tight", "coupling: loose"]
    for ax in axes:
        assert [t.get_text() for t in ax.get_yticklabels()] == ["low", "high"]


def test_training_size_follows_the_config_order(drawn):
    summary = summary_table(CROSSED)
    plots.training_size(
        summary, TARGET, "error", "unused.png", couplings=["tight", "loose"], sharings=["low", "high"]
    )
    axes = drawn[0].axes
    assert [ax.get_title() for ax in axes] == ["coupling: tight", "coupling: loose"]
    legend = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert legend == ["trivial baseline", "low", "high", "single-task"]  # matplotlib: lines, then error bars


def _histories() -> tuple[list[dict], list[pd.DataFrame]]:
    """Raw histories (no error columns) of every run setting of CROSSED at n = 100, two seeds."""
    docs, histories = [], []
    settings = CROSSED[["kind", "coupling", "sharing"]].drop_duplicates()
    for (kind, coupling, sharing), seed in zip(settings.itertuples(index=False), [1, 2] * 10, strict=False):
        for s in (seed, seed + 2):
            docs.append(
                {"run": {"kind": kind, "coupling": coupling, "sharing": sharing, "n_train": 100, "seed": s}}
            )
            histories.append(
                pd.DataFrame({"epoch": [1, 2], "loss": [0.9, 0.8], f"val_{TARGET}_accuracy": [0.6, 0.7]})
            )
    return docs, histories


def test_learning_curves_follow_the_config_order_and_plot_the_error_of_raw_histories(drawn):
    table = histories_table(*_histories())
    plots.learning_curves(table, TARGET, "unused.png", couplings=["loose", "tight"], sharings=["high", "low"])
    grid = drawn[0]
    assert list(grid.col_names) == ["loose", "tight"]
    assert [t.get_text() for t in grid.legend.get_texts()] == ["high", "low", "single-task"]
    assert grid.axes[0][0].get_ylabel() == "validation error"
    assert grid.axes[0][0].lines  # the error column was added in aggregation, so there are curves


def test_plots_without_an_order_list_couplings_and_sharing_as_they_appear(drawn):
    plots.gain_heatmap(comparison_table(CROSSED, TARGET), "error", "unused.png")
    axes = [ax for ax in drawn[0].axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["coupling: loose", "coupling: tight"]  # comparison is sorted
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["high", "low"]
