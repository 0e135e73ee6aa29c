"""Shared fixtures: repository paths, the real MSD sample and a small prepared data set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = REPO.parent / "shared" / "data" / "msd-sample"

# Keras must not pick a backend before the tests choose one.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def msd_sample() -> Path:
    if not SHARED_SAMPLE.is_dir():
        pytest.skip(f"real MSD sample folder {SHARED_SAMPLE} is absent (it lives beside the repository)")
    return SHARED_SAMPLE


@pytest.fixture(scope="session")
def tiny_prepared(tmp_path_factory) -> Path:
    """A small synthetic prepared-data file (600 rows, 300 words, 5 tasks)."""
    from mtrl.data.dataset import make_split
    from mtrl.data.prepared import write_prepared
    from mtrl.data.synthetic import generate

    dataset = generate(
        n_rows=600,
        n_features=300,
        n_topics=8,
        doc_length=60,
        tasks={
            "t_target": {"kind": "binary", "rho": 1.0},
            "t_close": {"kind": "binary", "rho": 0.9},
            "t_reg": {"kind": "regression", "rho": 0.5, "mean": 10.0, "sd": 2.0},
        },
        seed=3,
    )
    path = tmp_path_factory.mktemp("prepared") / "prepared.h5"
    write_prepared(path, dataset, make_split(dataset.n_rows, 0.2, 0.2, seed=0), {"source": "synthetic"})
    return path
