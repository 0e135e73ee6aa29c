"""Intervals of a metric's own value stay inside its range (mtrl.stats.intervals.bounded_mean_interval)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from mtrl.aggregate import summary_table
from mtrl.findings import write_findings
from mtrl.metric_names import METRIC_NAMES, METRIC_RANGES, metric_range, range_label
from mtrl.stats.intervals import UNBOUNDED, bounded_mean_interval, mean_interval, scale_name
from study_runs import ALL_GAIN, TARGET, make_runs, tables

UNIT = (0.0, 1.0)
POSITIVE = (0.0, math.inf)
AT_MOST_ONE = (-math.inf, 1.0)

# The issue's two examples, as three seeds with the printed mean and plain t interval:
# genre:Rap single-task AUC at n = 150, "0.203 (95% CI -0.262 to 0.669)" (sd 0.1876), and its balanced
# accuracy at n = 1400, "0.881 (0.733 to 1.029)" (sd 0.0596).
RAP_AUC = [0.203 - 0.1876, 0.203, 0.203 + 0.1876]
RAP_BALANCED_ACCURACY = [0.881 - 0.0596, 0.881, 0.881 + 0.0596]


def _reference(values, forward, slope, inverse):
    """The delta-method interval by hand: scipy's t interval around forward(mean), mapped back."""
    x = np.asarray(values, dtype=float)
    mean, n = x.mean(), len(x)
    se = slope(mean) * x.std(ddof=1) / math.sqrt(n)
    low, high = stats.t.interval(0.95, df=n - 1, loc=forward(mean), scale=se)
    return tuple(sorted((inverse(low), inverse(high))))


def _logit_reference(values):
    return _reference(values, special.logit, lambda m: 1 / (m * (1 - m)), special.expit)


@pytest.mark.parametrize("values", [RAP_AUC, RAP_BALANCED_ACCURACY])
def test_the_issues_examples_leave_the_range_with_t_and_stay_in_it_now(values):
    plain = mean_interval(values)
    assert plain.ci_low < 0 or plain.ci_high > 1
    got = bounded_mean_interval(values, UNIT)
    assert 0 < got.ci_low < got.mean < got.ci_high < 1
    assert (got.mean, got.sd) == pytest.approx((plain.mean, plain.sd))
    assert (got.ci_low, got.ci_high) == pytest.approx(_logit_reference(values))


def test_the_issues_examples_by_hand():
    # AUC: logit(0.203) = -1.3677, se 0.1876 / sqrt 3 / (0.203 * 0.797) = 0.6695, t(0.975, 2) = 4.3027:
    # logit ends -4.2482 and 1.5129 -> 0.0141 to 0.8194
    auc = bounded_mean_interval(RAP_AUC, UNIT)
    assert (auc.ci_low, auc.ci_high) == pytest.approx((0.01409, 0.81947), abs=1e-5)
    # balanced accuracy: logit(0.881) = 2.0022, se 0.0596 / sqrt 3 / (0.881 * 0.119) = 0.3282:
    # -> 0.6433 to 0.9681
    balanced = bounded_mean_interval(RAP_BALANCED_ACCURACY, UNIT)
    assert (balanced.ci_low, balanced.ci_high) == pytest.approx((0.64330, 0.96814), abs=1e-5)


def test_log_scale_for_a_metric_bounded_below():
    values = [0.1, 0.5, 0.2]  # plain t: 0.267 +/- 0.517, below 0
    assert mean_interval(values).ci_low < 0
    got = bounded_mean_interval(values, POSITIVE)
    assert (got.ci_low, got.ci_high) == pytest.approx(_reference(values, np.log, lambda m: 1 / m, np.exp))
    assert 0 < got.ci_low < got.mean < got.ci_high


def test_log_of_one_minus_x_for_a_metric_bounded_above():
    values = [0.95, 0.7, 0.99]  # R2 near its bound: plain t leaves (-inf, 1]
    assert mean_interval(values).ci_high > 1
    got = bounded_mean_interval(values, AT_MOST_ONE)
    expected = _reference(values, lambda m: np.log(1 - m), lambda m: 1 / (1 - m), lambda z: 1 - np.exp(z))
    assert (got.ci_low, got.ci_high) == pytest.approx(expected)
    assert got.ci_low < got.mean < got.ci_high < 1


def test_any_finite_range_is_rescaled_onto_the_unit_logit():
    values = np.array([0.2, 0.6, 0.5])
    got = bounded_mean_interval(2 + 3 * values, (2.0, 5.0))
    low, high = _logit_reference(values)
    assert (got.ci_low, got.ci_high) == pytest.approx((2 + 3 * low, 2 + 3 * high))


def test_far_from_the_bounds_it_is_the_t_interval():
    values = [0.50, 0.51, 0.49]
    plain, got = mean_interval(values), bounded_mean_interval(values, UNIT)
    assert (got.ci_low, got.ci_high) == pytest.approx((plain.ci_low, plain.ci_high), abs=5e-4)


def test_an_unbounded_range_gives_the_t_interval():
    values = [-3.0, 1.0, 2.5]
    assert bounded_mean_interval(values, UNBOUNDED) == mean_interval(values)


def test_degenerate_samples():
    empty = bounded_mean_interval([], UNIT)
    assert empty.n == 0 and math.isnan(empty.mean) and math.isnan(empty.ci_low)
    one = bounded_mean_interval([0.3, math.nan], UNIT)
    assert one.n == 1 and one.mean == 0.3 and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    same = bounded_mean_interval([0.7, 0.7, 0.7], UNIT)
    assert same.sd == 0.0 and same.ci_low == same.mean == same.ci_high == pytest.approx(0.7)
    for bound in (0.0, 1.0):  # every value on a bound: the point, not an infinite logit
        on = bounded_mean_interval([bound] * 3, UNIT)
        assert (on.mean, on.ci_low, on.ci_high) == (bound, bound, bound)


@pytest.mark.parametrize("values", [[1.0, 1.0, 0.9], [0.0, 0.5, 1.0], [0.0, 0.0, 0.02]])
def test_values_on_a_bound_need_no_fudge(values):
    got = bounded_mean_interval(values, UNIT)
    assert 0 <= got.ci_low < got.mean < got.ci_high <= 1
    assert (got.ci_low, got.ci_high) == pytest.approx(_logit_reference(values))


def test_float_noise_beyond_a_bound_is_clipped_and_a_value_outside_refused():
    assert bounded_mean_interval([1 + 1e-12, 1.0, 1.0], UNIT).ci_high == 1.0
    with pytest.raises(ValueError, match=r"value 1\.2 lies outside the range \[0, 1\]"):
        bounded_mean_interval([0.9, 1.2], UNIT)
    with pytest.raises(ValueError, match=r"value -0\.5 lies outside the range \[0, inf\)"):
        bounded_mean_interval([1.0, -0.5], POSITIVE)


def test_random_samples_stay_in_range_contain_their_mean_and_cover_it():
    # Beta(9, 1) (mean 0.9, skewed against 1) with 3 seeds: the plain t interval covers the mean in about
    # 90% of studies and leaves [0, 1] in most; the bounded one covers it in about 95% and never leaves.
    rng = np.random.default_rng(1)
    samples = rng.beta(9, 1, size=(4000, 3))
    intervals = [bounded_mean_interval(x, UNIT) for x in samples]
    lows = np.array([i.ci_low for i in intervals])
    highs = np.array([i.ci_high for i in intervals])
    means = samples.mean(axis=1)
    assert ((lows >= 0) & (lows <= means) & (means <= highs) & (highs <= 1)).all()
    covered = np.mean((lows <= 0.9) & (highs >= 0.9))
    plain = [mean_interval(x) for x in samples]
    plain_covered = np.mean([i.ci_low <= 0.9 <= i.ci_high for i in plain])
    assert 0.93 <= covered <= 0.97 and plain_covered < 0.92


def test_every_metric_has_a_range():
    assert set(METRIC_RANGES) == set(METRIC_NAMES)
    assert metric_range("roc_auc") == UNIT and metric_range("log_loss") == POSITIVE
    assert metric_range("r2") == AT_MOST_ONE
    with pytest.raises(ValueError, match="metric 'mse' has no known range; the metrics are accuracy"):
        metric_range("mse")
    assert [range_label(b) for b in (UNIT, POSITIVE, AT_MOST_ONE)] == ["[0, 1]", "[0, inf)", "(-inf, 1]"]
    assert [scale_name(b) for b in (UNIT, POSITIVE, AT_MOST_ONE, UNBOUNDED)] == [
        "logit",
        "log",
        "log(1 - x)",
        None,
    ]


def _runs(metric, values):
    return pd.DataFrame(
        {
            "kind": "single",
            "coupling": "single",
            "sharing": "none",
            "n_train": 150,
            "seed": [1, 2, 3],
            "task": "genre:Rap",
            "split": "test",
            "metric": metric,
            "value": values,
            "baseline": 0.5,
        }
    )


def test_the_summary_reports_intervals_inside_the_metric_range():
    runs = pd.concat([_runs("roc_auc", RAP_AUC), _runs("balanced_accuracy", RAP_BALANCED_ACCURACY)])
    table = summary_table(runs).set_index("metric")
    for metric, values in (("roc_auc", RAP_AUC), ("balanced_accuracy", RAP_BALANCED_ACCURACY)):
        row = table.loc[metric]
        assert row["mean"] == pytest.approx(np.mean(values))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_logit_reference(values))
        assert 0 < row["ci_low"] < row["mean"] < row["ci_high"] < 1


def test_the_summary_names_the_setting_of_a_value_outside_the_range():
    with pytest.raises(
        ValueError, match=r"task genre:Rap, split test, metric roc_auc: value 1\.5 lies outside"
    ):
        summary_table(_runs("roc_auc", [0.5, 0.6, 1.5]))
    with pytest.raises(ValueError, match="metric 'loss' has no known range"):
        summary_table(_runs("loss", [0.5, 0.6, 0.7]))


def test_the_findings_say_how_the_interval_of_the_metric_is_computed():
    text = write_findings(*tables(ALL_GAIN), TARGET)
    method = (
        "a two-sided 95% t interval over seeds on the logit scale, mapped back so that it stays within [0, 1]"
    )
    assert (
        "Intervals of a gain are two-sided 95% t intervals over seeds; the interval of the error itself "
        f"is {method}." in text
    )
    assert f"*error (95% CI)*: the mean over seeds; its interval is {method}." in text
    # the multi-task cells' errors 0.25, 0.245, 0.24 in the baseline table: the logit interval
    low, high = _logit_reference([0.25, 0.245, 0.24])
    assert f"| `tight` / `low` / n = 100 | 0.245 (95% CI {low:.3g} to {high:.3g}) | 0.5 |" in text
    regression = make_runs({("tight", "low", 100): [0.8, 0.85, 0.9]}, {100: [1.0, 1.0, 1.0]}, metric="rmse")
    text = write_findings(*tables(regression), TARGET)
    assert (
        "the interval of the rmse itself is a two-sided 95% t interval over seeds on the log scale, " in text
    )
    assert "stays within [0, inf)." in text
