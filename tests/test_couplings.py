import pandas as pd
import pytest

from mtrl.couplings import choose_couplings


def _table(target_r):
    rows = [{"task_a": "t", "task_b": "t", "method": "phi", "correlation": 1.0, "n": 100}]
    rows += [
        {"task_a": "t", "task_b": k, "method": "pearson", "correlation": r, "n": 90}
        for k, r in target_r.items()
    ]
    return pd.DataFrame(rows)


def test_tight_takes_the_most_and_loose_the_least_correlated_by_absolute_value():
    table = _table({"a": 0.8, "b": -0.7, "c": 0.05, "d": -0.01, "e": 0.3})
    got = choose_couplings(table, "t", ["a", "b", "c", "d", "e"], k=2)
    assert got == {"tight": ["t", "a", "b"], "loose": ["t", "d", "c"]}


def test_overlapping_sets_are_refused():
    with pytest.raises(ValueError, match="2k <= 3"):
        choose_couplings(_table({"a": 0.1, "b": 0.2, "c": 0.3}), "t", ["a", "b", "c"], k=2)


def test_undefined_correlation_is_named():
    with pytest.raises(ValueError, match="correlation of 'b' with 't' is undefined"):
        choose_couplings(_table({"a": 0.1, "b": float("nan")}), "t", ["a", "b"], k=1)
