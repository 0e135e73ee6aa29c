import itertools

import numpy as np
import pytest

from mtrl.data.synthetic import SyntheticTask, generate, latent_signals, task_generator, topic_proportions


def _tasks(rhos):
    return {f"t{i}": {"kind": "binary" if i % 2 else "regression", "rho": r} for i, r in enumerate(rhos)}


def test_shapes_sparsity_and_skewed_word_frequencies():
    data = generate(n_rows=2000, n_features=5000, tasks=_tasks([1.0, 0.5]), seed=0)
    x = data.features
    assert x.shape == (2000, 5000)
    nnz_per_row = np.diff(x.indptr)
    assert 60 <= nnz_per_row.mean() <= 140  # "on the order of 100 non-zeros a row"
    assert x.data.min() >= 1 and np.allclose(x.data, np.round(x.data))  # counts
    doc_freq = np.sort(np.asarray((x > 0).sum(axis=0)).ravel())[::-1]
    # skewed: the 50 most frequent words occur in far more documents than the median word
    assert doc_freq[:50].mean() > 20 * max(1, np.median(doc_freq))


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8, -0.5, 1.0])
def test_latent_correlation_equals_the_knob(rho):
    rng = np.random.default_rng(1)
    _, theta_a, theta_b = topic_proportions(5000, 20, 0.2, rng)
    tasks = [SyntheticTask("target", "binary", 1.0), SyntheticTask("other", "regression", rho)]
    z = latent_signals(theta_a, theta_b, tasks, rng, {t.name: task_generator(1, t.name) for t in tasks})
    assert np.corrcoef(z["target"], z["other"])[0, 1] == pytest.approx(rho, abs=1e-9)


def test_realised_label_correlations_follow_the_knob():
    rhos = [1.0, 0.9, 0.6, 0.3, 0.0]
    tasks = {f"t{i}": {"kind": "regression", "rho": r, "noise": 0.3} for i, r in enumerate(rhos)}
    data = generate(n_rows=6000, n_features=500, tasks=tasks, seed=2)
    target = data.labels["t0"]
    corr = [np.corrcoef(target, data.labels[f"t{i}"])[0, 1] for i in range(len(rhos))]
    assert all(a > b for a, b in itertools.pairwise(corr))  # monotone in rho
    # noise 0.3 on both attenuates by 1 / (1 + 0.3**2)
    for c, rho in zip(corr[1:], rhos[1:], strict=False):
        assert c == pytest.approx(rho / 1.09, abs=0.05)


def test_binary_labels_have_the_requested_positive_rate():
    data = generate(
        n_rows=3000, n_features=300, tasks={"b": {"kind": "binary", "rho": 1.0, "positive_rate": 0.3}}
    )
    assert set(np.unique(data.labels["b"])) == {0.0, 1.0}
    assert data.labels["b"].mean() == pytest.approx(0.3, abs=0.01)


def test_regression_labels_have_the_requested_units():
    data = generate(
        n_rows=3000, n_features=300, tasks={"r": {"kind": "regression", "rho": 0.0, "mean": -9, "sd": 3.5}}
    )
    assert data.labels["r"].mean() == pytest.approx(-9, abs=1e-9)
    assert data.labels["r"].std() == pytest.approx(3.5, abs=1e-9)


def test_same_seed_same_data_and_other_seed_other_data():
    a = generate(n_rows=300, n_features=200, tasks=_tasks([1.0]), seed=5)
    b = generate(n_rows=300, n_features=200, tasks=_tasks([1.0]), seed=5)
    c = generate(n_rows=300, n_features=200, tasks=_tasks([1.0]), seed=6)
    assert (a.features != b.features).nnz == 0
    assert np.array_equal(a.labels["t0"], b.labels["t0"])
    assert (a.features != c.features).nnz > 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "ordinal", "rho": 0.5}, "kind 'ordinal'"),
        ({"kind": "binary", "rho": 1.5}, "rho 1.5"),
        ({"kind": "binary", "rho": 0.5, "noise": -1}, "noise -1"),
        ({"kind": "binary", "rho": 0.5, "labelled_fraction": 0}, r"labelled_fraction 0 must be in \(0, 1\]"),
    ],
)
def test_bad_task_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        generate(n_rows=50, n_features=20, tasks={"bad": params})


def test_a_labelled_fraction_drops_labels_and_leaves_every_other_draw_as_it_was():
    tasks = {"t": {"kind": "binary", "rho": 1.0}, "a": {"kind": "regression", "rho": 0.5}}
    full = generate(n_rows=200, n_features=50, tasks=tasks, seed=4)
    part = generate(
        n_rows=200, n_features=50, tasks={**tasks, "a": {**tasks["a"], "labelled_fraction": 0.3}}, seed=4
    )
    kept = ~np.isnan(part.labels["a"])
    assert kept.sum() == 60
    assert np.array_equal(part.labels["a"][kept], full.labels["a"][kept])
    assert np.array_equal(part.labels["t"], full.labels["t"])
    assert (part.features != full.features).nnz == 0


def test_a_task_s_labels_do_not_depend_on_the_order_or_on_the_other_tasks():
    tasks = {
        "t_target": {"kind": "binary", "rho": 1.0, "noise": 1.2},
        "t_close": {"kind": "regression", "rho": 0.9, "noise": 0.3, "labelled_fraction": 0.5},
        "t_far": {"kind": "binary", "rho": 0.0, "noise": 0.3},
    }
    forward = generate(n_rows=300, n_features=100, tasks=tasks, seed=3)
    backward = generate(n_rows=300, n_features=100, tasks=dict(reversed(tasks.items())), seed=3)
    more = generate(
        n_rows=300,
        n_features=100,
        tasks={
            "t_new": {"kind": "binary", "rho": 0.5},
            **tasks,
            "t_last": {"kind": "regression", "rho": 0.2},
        },
        seed=3,
    )
    assert [t.name for t in backward.tasks] == ["t_far", "t_close", "t_target"]
    for name in tasks:
        assert np.array_equal(forward.labels[name], backward.labels[name], equal_nan=True), name
        assert np.array_equal(forward.labels[name], more.labels[name], equal_nan=True), name
    assert np.isnan(forward.labels["t_close"]).sum() == 150
    assert (forward.features != backward.features).nnz == 0
    assert (forward.features != more.features).nnz == 0
    # the tasks' own draws differ from one task to the next and from one seed to the next
    assert not np.array_equal(forward.labels["t_far"], more.labels["t_new"])
    other = generate(n_rows=300, n_features=100, tasks=tasks, seed=4)
    assert not np.array_equal(forward.labels["t_far"], other.labels["t_far"])
