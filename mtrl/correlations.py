"""Pairwise correlation of task labels (Pearson; phi for two binary tasks) with pair counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mtrl.tasks import TaskSpec


def label_correlations(labels: Mapping[str, np.ndarray], tasks: Sequence[TaskSpec]) -> pd.DataFrame:
    """Tidy table ``task_a, task_b, method, correlation, n`` over every ordered pair of tasks.

    Each pair uses the rows that carry both labels. Pearson's r on 0/1 labels is the phi
    coefficient, so binary pairs are reported as ``phi``. Multiclass tasks are left out (no
    single correlation describes them). A pair with fewer than 3 common rows or a constant label
    gets NaN.
    """
    usable = [t for t in tasks if t.kind != "multiclass"]
    rows = []
    for a in usable:
        for b in usable:
            ya, yb = np.asarray(labels[a.name], float), np.asarray(labels[b.name], float)
            both = ~np.isnan(ya) & ~np.isnan(yb)
            n = int(both.sum())
            r = float("nan")
            if n >= 3 and np.std(ya[both]) > 0 and np.std(yb[both]) > 0:
                r = float(np.corrcoef(ya[both], yb[both])[0, 1])
            method = "phi" if a.kind == "binary" and b.kind == "binary" else "pearson"
            rows.append({"task_a": a.name, "task_b": b.name, "method": method, "correlation": r, "n": n})
    return pd.DataFrame(rows, columns=["task_a", "task_b", "method", "correlation", "n"])
