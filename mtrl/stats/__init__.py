"""Statistics of the study, as pure functions over pandas tables (scipy.stats and statsmodels; no Keras).

- :mod:`mtrl.stats.intervals`: means with t intervals and paired differences over seeds;
- :mod:`mtrl.stats.multiplicity`: p-values adjusted for multiple comparisons, what is detectable;
- :mod:`mtrl.stats.pairing`: multi-task runs paired with their single-task partner;
- :mod:`mtrl.stats.gains`: multi-task gains on the target, the trivial baseline, relative improvements;
- :mod:`mtrl.stats.interactions`: how the gain depends on coupling and sharing.
"""

from mtrl.stats.gains import (
    average_relative_improvement,
    baseline_cells,
    largest_detectable_size,
    relative_improvement_summary,
    seed_gains,
    target_cells,
    task_relative_improvements,
)
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
from mtrl.stats.pairing import CELL_KEYS, PAIR_KEYS, NumericsMismatchError, paired_with_single

__all__ = [
    "CELL_KEYS",
    "CONFIDENCE",
    "METHOD_NAMES",
    "PAIR_KEYS",
    "InteractionTest",
    "MeanInterval",
    "NumericsMismatchError",
    "PairedDifference",
    "adjust_p_values",
    "average_relative_improvement",
    "baseline_cells",
    "coupling_interactions",
    "difference_row",
    "is_detectable",
    "largest_detectable_size",
    "mean_interval",
    "method_name",
    "paired_difference",
    "paired_with_single",
    "relative_improvement_summary",
    "seed_gains",
    "sharing_comparison",
    "sharing_coupling_interaction",
    "sharing_means",
    "target_cells",
    "task_relative_improvements",
]
