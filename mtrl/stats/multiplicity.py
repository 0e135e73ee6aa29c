"""Multiple comparisons: adjusted p-values (statsmodels ``multipletests``) and what counts as detectable.

A difference is detectable only when its interval excludes zero and its p-value, adjusted across the
family of tests it belongs to, is below alpha.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

METHOD_NAMES = {
    "holm": "Holm",
    "fdr_bh": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni",
}


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


def direction(ci_low: float, ci_high: float, p_adjusted: float, alpha: float, words: tuple[str, str]) -> str:
    """``words[0]`` for a detectable positive difference, ``words[1]`` for a negative one, else ``none``."""
    if not is_detectable(ci_low, ci_high, p_adjusted, alpha):
        return "none"
    return words[0] if ci_low > 0 else words[1]


def with_adjustment(frame: pd.DataFrame, alpha: float, method: str, words: tuple[str, str]) -> pd.DataFrame:
    """Add ``p_adjusted`` (over all rows) and ``direction`` (``words[0]``, ``words[1]`` or ``none``).

    ``frame`` has one test per row: ``p_value``, ``ci_low`` and ``ci_high``.
    """
    out = frame.reset_index(drop=True).copy()
    if out.empty:
        return out.assign(p_adjusted=pd.Series(dtype=float), direction=pd.Series(dtype=str))
    out["p_adjusted"] = adjust_p_values(out["p_value"], method)
    out["direction"] = [
        direction(lo, hi, p, alpha, words)
        for lo, hi, p in zip(out["ci_low"], out["ci_high"], out["p_adjusted"], strict=True)
    ]
    return out
