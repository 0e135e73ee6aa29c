"""The findings document: every statistic computed, then the sections that put it in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mtrl.findings.benefit import benefit_section, header, numerics_sentence
from mtrl.findings.collapse import collapse_section
from mtrl.findings.plan import plan_section
from mtrl.findings.questions import auxiliary_section, coupling_section, sharing_section, size_section
from mtrl.findings.seeds import seeds_section
from mtrl.findings.verdicts import verdict_section
from mtrl.ordering import ordered, sort_cells
from mtrl.stats.exclusions import without_excluded, without_excluded_sizes
from mtrl.stats.gains import (
    average_relative_improvement,
    baseline_cells,
    largest_detectable_size,
    relative_improvement_summary,
    seed_gains,
    target_cells,
)
from mtrl.stats.interactions import (
    coupling_interactions,
    sharing_comparison,
    sharing_coupling_interaction,
    sharing_means,
)
from mtrl.stats.multiplicity import method_name
from mtrl.tasks import metric_choice


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
    numerics: Mapping[str, Any] | None = None,
    plan: pd.DataFrame | None = None,
    metric: str = "auto",
    hypotheses: pd.DataFrame | None = None,
    seeds: pd.DataFrame | None = None,
) -> str:
    """Markdown answering the four research questions, every sentence citing the numbers behind it.

    ``method`` is a statsmodels ``multipletests`` method (``holm``, ``fdr_bh``, ...). ``couplings`` and
    ``sharings`` give the config order (default: order of appearance); Q3 compares each pair of
    couplings in that order (first minus second). ``plan`` (``tables/plan.csv``): the (task, size) cells
    it excludes leave every statistic, and the text says why. ``metric`` is ``findings.metric``: the
    target's primary metric, resolved by :func:`mtrl.tasks.primary_metric`. ``hypotheses``
    (``tables/hypotheses.csv``): the confirmatory verdicts that open the text. ``numerics``: the
    study's ``numerics.json`` (:func:`mtrl.numerics.read_numerics`), for the header's sentence on what
    the runs trained with. ``seeds``: ``tables/seeds.csv`` of a study whose seeds follow a rule.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    method_name(method)
    runs = without_excluded(runs, plan)
    comparison = without_excluded_sizes(comparison, plan, target)
    metric, reason = metric_choice(runs, target, metric)
    cells = target_cells(comparison, metric, split, alpha, method)
    coupling_order = ordered(cells["coupling"], couplings)
    sharing_order = ordered(cells["sharing"], sharings)
    cells = sort_cells(cells, coupling_order, sharing_order)
    gains = sort_cells(seed_gains(runs, target, metric, split), coupling_order, sharing_order)
    base = baseline_cells(runs, target, metric, split, alpha, method)
    deltas = average_relative_improvement(runs, split)
    rel = relative_improvement_summary(sort_cells(deltas, coupling_order, sharing_order), alpha, method)
    inter = coupling_interactions(gains, coupling_order, alpha, method, sharing_order)
    comp = sharing_comparison(gains, alpha, method, sharing_order)
    study_plan = plan_section(plan)  # empty when the data fill every cell as requested
    sections = [
        header(target, metric, split, alpha, method, cells, reason, numerics_sentence(runs, numerics)),
        verdict_section(hypotheses, alpha, method),
        *([study_plan] if study_plan else []),
        seeds_section(seeds),
        collapse_section(runs, target, split, coupling_order, sharing_order),
        benefit_section(cells, base, rel, summary, target, metric, split, alpha, method),
        size_section(cells, largest_detectable_size(cells), metric),
        coupling_section(inter, coupling_order, alpha, method),
        sharing_section(comp, sharing_means(gains), sharing_coupling_interaction(gains), alpha, method),
    ]
    if auxiliary_all_labels:
        sections.append(auxiliary_section(cells, metric, alpha, method))
    return "\n\n".join(s for s in sections if s) + "\n"
