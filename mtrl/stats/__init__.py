"""Statistics of the study, as pure functions over pandas tables (scipy.stats and statsmodels; no Keras).

- :mod:`mtrl.stats.intervals`: means with t intervals and paired differences over seeds;
- :mod:`mtrl.stats.multiplicity`: p-values adjusted for multiple comparisons, what is detectable;
- :mod:`mtrl.stats.pairing`: multi-task runs paired with their single-task partner;
- :mod:`mtrl.stats.gains`: multi-task gains on the target, the trivial baseline, relative improvements;
- :mod:`mtrl.stats.interactions`: how the gain depends on coupling and sharing;
- :mod:`mtrl.stats.hypotheses`: the confirmatory hypotheses declared in the config, their replicate values;
- :mod:`mtrl.stats.grid_model`: one mixed model of the whole grid (size slope, coupling x sharing);
- :mod:`mtrl.stats.confirmatory`: per hypothesis estimate, interval, adjusted p, equivalence, power, verdict;
- :mod:`mtrl.stats.power`: minimum detectable effects and the replicates needed for an effect;
- :mod:`mtrl.stats.exclusions`: the (task, size) cells the study plan leaves out of every statistic.
"""

from mtrl.stats.confirmatory import (
    CONTRADICTED,
    EQUIVALENT,
    INCONCLUSIVE,
    SUPPORTED,
    VERDICTS,
    confirmatory_table,
    replicate_test,
    slope_equivalence,
    verdict,
)
from mtrl.stats.gains import (
    average_relative_improvement,
    baseline_cells,
    largest_detectable_size,
    relative_improvement_summary,
    seed_gains,
    target_cells,
    task_relative_improvements,
)
from mtrl.stats.grid_model import GridModel, InteractionWald, SizeSlope, fit_grid_model
from mtrl.stats.hypotheses import Hypothesis, parse_hypotheses, replicate_values
from mtrl.stats.interactions import (
    InteractionTest,
    coupling_interactions,
    sharing_comparison,
    sharing_coupling_interaction,
    sharing_means,
)
from mtrl.stats.intervals import (
    CONFIDENCE,
    MeanInterval,
    PairedDifference,
    difference_row,
    mean_interval,
    paired_difference,
)
from mtrl.stats.multiplicity import METHOD_NAMES, adjust_p_values, is_detectable, method_name
from mtrl.stats.pairing import CELL_KEYS, PAIR_KEYS, paired_with_single
from mtrl.stats.power import (
    POWER,
    cell_power,
    detectable_from_se,
    minimum_detectable_effect,
    replicates_needed,
    replicates_needed_from_se,
)

__all__ = [
    "CELL_KEYS",
    "CONFIDENCE",
    "CONTRADICTED",
    "EQUIVALENT",
    "INCONCLUSIVE",
    "METHOD_NAMES",
    "PAIR_KEYS",
    "POWER",
    "SUPPORTED",
    "VERDICTS",
    "GridModel",
    "Hypothesis",
    "InteractionTest",
    "InteractionWald",
    "MeanInterval",
    "PairedDifference",
    "SizeSlope",
    "adjust_p_values",
    "average_relative_improvement",
    "baseline_cells",
    "cell_power",
    "confirmatory_table",
    "coupling_interactions",
    "detectable_from_se",
    "difference_row",
    "fit_grid_model",
    "is_detectable",
    "largest_detectable_size",
    "mean_interval",
    "method_name",
    "minimum_detectable_effect",
    "paired_difference",
    "paired_with_single",
    "parse_hypotheses",
    "relative_improvement_summary",
    "replicate_test",
    "replicate_values",
    "replicates_needed",
    "replicates_needed_from_se",
    "seed_gains",
    "sharing_comparison",
    "sharing_coupling_interaction",
    "sharing_means",
    "slope_equivalence",
    "target_cells",
    "task_relative_improvements",
    "verdict",
]
