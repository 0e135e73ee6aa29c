"""Statistics over seeds: means with t confidence intervals and paired comparisons (scipy.stats)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95  # of every interval in the findings


@dataclass(frozen=True)
class MeanInterval:
    """Mean, sample standard deviation and two-sided t confidence interval of the mean."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def mean_interval(values, confidence: float = 0.95) -> MeanInterval:
    """Mean of ``values`` with its t interval (NaN interval for fewer than 2 finite values)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return MeanInterval(0, float("nan"), float("nan"), float("nan"), float("nan"))
    mean = float(x.mean())
    if n < 2:
        return MeanInterval(n, mean, float("nan"), float("nan"), float("nan"))
    sd = float(x.std(ddof=1))
    if sd <= 1e-12 * (1.0 + abs(mean)):  # identical values up to floating-point noise
        sd = 0.0
    if sd == 0:
        return MeanInterval(n, mean, 0.0, mean, mean)
    low, high = stats.t.interval(confidence, df=n - 1, loc=mean, scale=sd / np.sqrt(n))
    return MeanInterval(n, mean, sd, float(low), float(high))


@dataclass(frozen=True)
class PairedDifference:
    """Paired difference ``a - b``: its mean interval and the paired t-test's two-sided p-value."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    """Compare paired samples (e.g. multi-task vs single-task, paired by seed)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    interval = mean_interval(diff, confidence)
    p = float("nan")
    if interval.n >= 2:
        if interval.sd == 0:
            # every seed differs by the same amount: the t-test is undefined; claim nothing
            p = 1.0 if interval.mean == 0 else float("nan")
        else:
            p = float(stats.ttest_rel(a[keep], b[keep]).pvalue)
    return PairedDifference(interval.n, interval.mean, interval.sd, interval.ci_low, interval.ci_high, p)


def difference_row(a, b, confidence: float = CONFIDENCE) -> dict[str, float]:
    """:func:`paired_difference` of ``a - b`` as a table row.

    Keys: ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high`` and ``p_value``.
    """
    d = paired_difference(np.asarray(a, dtype=float), np.asarray(b, dtype=float), confidence)
    return {
        "n": d.n,
        "mean": d.mean,
        "sd": d.sd,
        "ci_low": d.ci_low,
        "ci_high": d.ci_high,
        "p_value": d.p_value,
    }
