"""Statistics over seeds: means with t confidence intervals and paired comparisons (scipy.stats).

Two kinds of interval, for two kinds of quantity:

- a **gain** (a difference of two runs' metric, paired by seed) gets the plain t interval
  (:func:`mean_interval`, :func:`paired_difference`): a difference of two values in [0, 1] can only
  leave its range [-1, 1] for gains near +/-1 with a huge spread, which the study never sees;
- a **metric's own value** (its mean over seeds in the summary) gets :func:`bounded_mean_interval`,
  which stays inside the metric's range (:data:`mtrl.metric_names.METRIC_RANGES`).

:func:`bounded_mean_interval` is the t interval of the mean on a scale that maps the range onto the
real line, back-transformed: the logit of ``(x - low) / (high - low)`` for a range bounded on both
sides (``[0, 1]``: error, accuracy, balanced accuracy, ROC-AUC, F1), ``log(x - low)`` for one bounded
below (``[0, inf)``: log-loss, RMSE, MAE), ``log(high - x)`` for one bounded above (``(-inf, 1]``: R2).
Its centre is the transformed mean and its standard error the mean's, times the slope of the
transform at the mean (the delta method): the logit-transformed interval Stata's ``proportion``
reports, with the t quantile of ``n - 1`` degrees of freedom. Why this rather than

- the t interval of the transformed *values*, back-transformed: that interval is about the mean of
  the transformed values, not the mean the summary reports; it need not contain that mean, it is
  undefined (infinite) for a value on a bound (an AUC of 1, an error of 0) and it needs a
  continuity fudge there; over simulated Beta-distributed seeds its coverage of the mean falls
  with more seeds (84.5% at 10 seeds of Beta(9, 1) against 94% for this one;
  ``benchmarks/interval_coverage.py``);
- a bootstrap: three seeds have ten distinct resamples, too few for a percentile interval;
- clipping the plain t interval to the range: it keeps the wrong width and puts an end on the bound.

Values on a bound need no special case: only the mean is transformed, and the mean of values in a
closed range lies on a bound only when every value does; such values are identical, and their
interval is the point ``[mean, mean]``, as in :func:`mean_interval`. The point estimate is
the plain mean, and the interval contains it: the back-transform of the transformed mean is the mean
(the ends are widened by float rounding at most, where they would miss it). Far from the bounds
(spread small against the distance to them) the interval is the plain t interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special, stats

from mtrl.metric_names import range_label

CONFIDENCE = 0.95  # of every interval in the findings
UNBOUNDED = (-math.inf, math.inf)
#: values this far outside a range (relative to its scale) are float noise on its bound, and clipped
RANGE_TOLERANCE = 1e-9


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
class _Scale:
    """A transform of a range onto the real line: its name, the map, its inverse and its slope."""

    name: str
    forward: Callable[[float], float]
    inverse: Callable[[float], float]
    slope: Callable[[float], float]


def _scale(bounds: tuple[float, float]) -> _Scale | None:
    """The transform of :func:`bounded_mean_interval` for a range; None for the whole real line."""
    low, high = bounds
    if math.isfinite(low) and math.isfinite(high):
        width = high - low
        return _Scale(
            "logit",
            lambda m: float(special.logit((m - low) / width)),
            lambda z: low + width * float(special.expit(z)),
            lambda m: width / ((m - low) * (high - m)),
        )
    if math.isfinite(low):
        return _Scale(
            "log", lambda m: math.log(m - low), lambda z: low + math.exp(z), lambda m: 1 / (m - low)
        )
    if math.isfinite(high):
        return _Scale(
            f"log({high:g} - x)",
            lambda m: math.log(high - m),
            lambda z: high - math.exp(z),
            lambda m: 1 / (high - m),
        )
    return None


def scale_name(bounds: tuple[float, float]) -> str | None:
    """The scale :func:`bounded_mean_interval` works on for a range (``logit``, ``log``,
    ``log(1 - x)``); None for an unbounded range, whose interval is the plain t interval."""
    scale = _scale(bounds)
    return None if scale is None else scale.name


def _in_range(values, bounds: tuple[float, float]) -> np.ndarray:
    """The finite ``values``, float noise beyond a bound clipped onto it; ValueError for a value outside."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    low, high = bounds
    slack = RANGE_TOLERANCE * max([1.0, *(abs(b) for b in bounds if math.isfinite(b))])
    outside = x[(x < low - slack) | (x > high + slack)]
    if outside.size:
        raise ValueError(f"value {outside[0]:g} lies outside the range {range_label(bounds)}")
    return np.clip(x, low, high)


def bounded_mean_interval(
    values, bounds: tuple[float, float], confidence: float = CONFIDENCE
) -> MeanInterval:
    """Mean of ``values`` with a t interval that stays inside ``bounds`` (see the module).

    ``bounds`` is the closed range ``(low, high)`` of the values (an infinite end where unbounded;
    :func:`mtrl.metric_names.metric_range` gives a metric's). The mean and sd are the plain ones of
    :func:`mean_interval`; so is the interval for fewer than 2 values (NaN), identical values (the
    point) and an unbounded range. ValueError for a value outside ``bounds``.
    """
    plain = mean_interval(_in_range(values, bounds), confidence)
    scale = _scale(bounds)
    low, high = bounds
    if scale is None or plain.n < 2 or plain.sd == 0:
        return plain
    mean = plain.mean
    if not low < mean < high:  # every value on the bound, up to float noise
        return MeanInterval(plain.n, mean, plain.sd, mean, mean)
    se = scale.slope(mean) * plain.sd / math.sqrt(plain.n)
    ends = stats.t.interval(confidence, df=plain.n - 1, loc=scale.forward(mean), scale=se)
    first, second = (scale.inverse(float(z)) for z in ends)
    ci_low, ci_high = min(first, second, mean), max(first, second, mean)  # min/max: float rounding only
    return MeanInterval(plain.n, mean, plain.sd, ci_low, ci_high)


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
    """Compare paired samples (e.g. multi-task vs single-task, paired by seed).

    The plain t interval of the differences, not :func:`bounded_mean_interval`: a gain of a metric in
    [0, 1] lies in [-1, 1], a range that a gain's interval practically never reaches.
    """
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
