"""The embedded synthetic benchmark: bag-of-words documents with tasks of controlled relatedness.

Documents follow a topic model: each document mixes ``n_topics`` topics (Dirichlet proportions),
each topic is a skewed distribution over a Zipf-distributed vocabulary, and word counts are drawn
token by token. Tasks are read off the topic proportions: a hidden anchor signal ``z0`` is a
random linear function of the proportions, and task ``j`` has the latent signal

    z_j = rho_j * z0 + sqrt(1 - rho_j**2) * u_j,

with ``u_j`` another random linear function made exactly uncorrelated with ``z0``. So ``rho_j``
is the correlation of task j's signal with the anchor (the target has ``rho = 1``). The anchor
reads one half of the topics and the ``u_j`` the other, independent half: tightly
coupled tasks have rho near 1, loosely coupled ones near 0. Labels add independent noise
(``noise`` standard deviations) and are thresholded at the median (binary) or rescaled to
``mean``/``sd`` (regression). A task with ``labelled_fraction`` below 1 keeps its label on that
share of the rows only (the others miss it, as real tracks miss some labels).

Random draws: the topics, documents, word counts and the anchor ``z0`` come, in that order, from
one generator seeded with ``seed``. Everything of one task's own (its ``u_j``, then its label
noise, then the rows that miss its label) comes from a generator of its own, seeded with
``(seed, crc32(task name))`` (:func:`task_generator`). So a task's labels depend on the seed, its
name and its own parameters only: listing the tasks in another order, or adding or removing a
task, leaves every other task's labels as they were.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mtrl.data.dataset import Dataset
from mtrl.tasks import TaskSpec


@dataclass(frozen=True)
class SyntheticTask:
    """How one synthetic task is derived from the latent signals."""

    name: str
    kind: str  # "binary" | "regression"
    rho: float
    noise: float = 0.5
    positive_rate: float = 0.5
    mean: float = 0.0
    sd: float = 1.0
    labelled_fraction: float = 1.0  # the share of rows that carry the label (the others: missing)

    def __post_init__(self) -> None:
        if self.kind not in ("binary", "regression"):
            raise ValueError(f"synthetic task {self.name!r}: kind {self.kind!r} must be binary or regression")
        if not -1.0 <= self.rho <= 1.0:
            raise ValueError(f"synthetic task {self.name!r}: rho {self.rho} must be in [-1, 1]")
        if self.noise < 0:
            raise ValueError(f"synthetic task {self.name!r}: noise {self.noise} must be >= 0")
        if not 0 < self.labelled_fraction <= 1:
            raise ValueError(
                f"synthetic task {self.name!r}: labelled_fraction {self.labelled_fraction} must be in (0, 1]"
            )
        if not 0 < self.positive_rate < 1:
            raise ValueError(
                f"synthetic task {self.name!r}: positive_rate {self.positive_rate} must be in (0, 1)"
            )


def _standardise(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


def topic_word_distributions(
    n_topics: int, n_features: int, zipf_exponent: float, topic_skew: float, rng: np.random.Generator
) -> np.ndarray:
    """``(n_topics, n_features)`` word distributions over a Zipf-skewed vocabulary."""
    ranks = np.arange(1, n_features + 1, dtype=np.float64)
    base = ranks ** (-zipf_exponent)
    weights = base[None, :] * rng.gamma(topic_skew, 1.0, size=(n_topics, n_features))
    return weights / weights.sum(axis=1, keepdims=True)


def sample_counts(
    proportions: np.ndarray, topics: np.ndarray, lengths: np.ndarray, rng: np.random.Generator
) -> sp.csr_matrix:
    """Draw each document's tokens (topic by its proportions, then word by the topic) as CSR counts."""
    n_docs, n_topics = proportions.shape
    n_features = topics.shape[1]
    doc_of_token = np.repeat(np.arange(n_docs), lengths)
    # topic of each token: inverse CDF of the document's proportions
    cdf = np.cumsum(proportions, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(len(doc_of_token))
    topic_of_token = (u[:, None] > cdf[doc_of_token]).sum(axis=1)
    topic_of_token = np.minimum(topic_of_token, n_topics - 1)
    words = np.empty(len(doc_of_token), dtype=np.int64)
    topic_cdf = np.cumsum(topics, axis=1)
    topic_cdf[:, -1] = 1.0
    for k in range(n_topics):
        sel = np.flatnonzero(topic_of_token == k)
        words[sel] = np.searchsorted(topic_cdf[k], rng.random(len(sel)), side="right")
    words = np.minimum(words, n_features - 1)
    counts = sp.csr_matrix(
        (np.ones(len(words), dtype=np.float32), (doc_of_token, words)), shape=(n_docs, n_features)
    )
    counts.sum_duplicates()
    return counts


def topic_proportions(
    n_rows: int, n_topics: int, concentration: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Document-topic proportions built from two independent halves.

    Returns ``(proportions, theta_a, theta_b)``: ``theta_a`` and ``theta_b`` are independent
    Dirichlet mixtures over the first and second half of the topics, and a document draws a
    Beta(4, 4) share of its tokens from the first half. The halves are independent, so a signal
    read from ``theta_b`` carries no information about one read from ``theta_a``.
    """
    half = n_topics // 2
    theta_a = rng.dirichlet(np.full(half, concentration), size=n_rows)
    theta_b = rng.dirichlet(np.full(n_topics - half, concentration), size=n_rows)
    share = rng.beta(4.0, 4.0, size=(n_rows, 1))
    return np.hstack([share * theta_a, (1.0 - share) * theta_b]), theta_a, theta_b


def task_generator(seed: int, name: str) -> np.random.Generator:
    """The generator of one task's own draws: seeded by the data set's seed and the task's name.

    ``crc32`` is a stable hash (unlike ``hash``, which Python salts per process), so the same
    name gets the same generator in every run, wherever the task is listed.
    """
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def latent_signals(
    theta_a: np.ndarray,
    theta_b: np.ndarray,
    tasks: list[SyntheticTask],
    rng: np.random.Generator,
    own_rngs: Mapping[str, np.random.Generator],
) -> dict[str, np.ndarray]:
    """Each task's standardised latent signal, with corr(z_task, z0) = rho exactly.

    The anchor ``z0`` reads the first half of the topics (``theta_a``) and each task's own part
    ``u_j`` the second half (``theta_b``), so a task with rho = 0 shares no signal with the target.
    ``z0`` is drawn from ``rng``, each ``u_j`` from the task's own generator ``own_rngs[name]``.
    """
    anchor = _standardise(theta_a @ rng.normal(size=theta_a.shape[1]))
    signals = {}
    for task in tasks:
        own = theta_b @ own_rngs[task.name].normal(size=theta_b.shape[1])
        own = own - own.mean()
        own = own - (own @ anchor) / (anchor @ anchor) * anchor  # exactly uncorrelated with z0
        own = _standardise(own)
        signals[task.name] = task.rho * anchor + np.sqrt(1.0 - task.rho**2) * own
    return signals


def make_labels(task: SyntheticTask, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy labels of a task from its latent signal."""
    noisy = signal + task.noise * rng.normal(size=len(signal))
    if task.kind == "binary":
        threshold = np.quantile(noisy, 1.0 - task.positive_rate)
        return (noisy > threshold).astype(np.float64)
    return task.mean + task.sd * _standardise(noisy)


def drop_labels(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """``labels`` with all but ``round(fraction * n)`` of them, chosen at random, missing (NaN)."""
    out = labels.copy()
    out[rng.permutation(len(out))[round(fraction * len(out)) :]] = np.nan
    return out


def generate(
    n_rows: int = 12_000,
    n_features: int = 5_000,
    n_topics: int = 20,
    doc_length: float = 150.0,
    zipf_exponent: float = 1.05,
    topic_skew: float = 0.3,
    topic_concentration: float = 0.2,
    tasks: Mapping[str, Mapping] | None = None,
    seed: int = 0,
) -> Dataset:
    """Generate the synthetic bag-of-words data set (see the module docstring)."""
    if not tasks:
        raise ValueError("the synthetic source needs at least one task under data.synthetic.tasks")
    specs = [SyntheticTask(name=name, **dict(params)) for name, params in tasks.items()]
    rng = np.random.default_rng(seed)
    topics = topic_word_distributions(n_topics, n_features, zipf_exponent, topic_skew, rng)
    proportions, theta_a, theta_b = topic_proportions(n_rows, n_topics, topic_concentration, rng)
    lengths = np.maximum(1, rng.poisson(doc_length, size=n_rows))
    features = sample_counts(proportions, topics, lengths, rng)
    # each task's own draws (u_j, label noise, missing labels) from a generator of its own, so
    # that neither the tasks' order nor the other tasks change them
    own_rngs = {t.name: task_generator(seed, t.name) for t in specs}
    signals = latent_signals(theta_a, theta_b, specs, rng, own_rngs)
    labels = {t.name: make_labels(t, signals[t.name], own_rngs[t.name]) for t in specs}
    for task in specs:
        if task.labelled_fraction < 1:  # drawn last: the task's labels stay as they are
            labels[task.name] = drop_labels(labels[task.name], task.labelled_fraction, own_rngs[task.name])
    return Dataset(
        features=features,
        labels=labels,
        tasks=[TaskSpec(name=t.name, kind=t.kind) for t in specs],  # type: ignore[arg-type]
        ids=np.array([f"doc{i:06d}" for i in range(n_rows)], dtype=object),
        vocabulary=[f"w{i}" for i in range(n_features)],
    )
