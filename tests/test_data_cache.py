"""The prepared-data cache (mtrl.data.cache): parsed copies kept while their file is unchanged."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from mtrl.data import cache
from mtrl.data.prepared import read_prepared


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def copies(tiny_prepared, tmp_path) -> list[Path]:
    """Three prepared-data files (copies of the tiny one)."""
    paths = [tmp_path / f"p{i}.h5" for i in range(3)]
    for path in paths:
        shutil.copy(tiny_prepared, path)
    return paths


def _touch(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_warm_keeps_the_parsed_copy(copies):
    path = copies[0]
    assert not cache.is_cached(path)
    cache.warm(path)
    assert cache.is_cached(path)
    assert cache.cached_prepared(path) is cache.cached_prepared(path)
    assert cache.cached_prepared(os.path.relpath(path)) is cache.cached_prepared(path)  # by real path
    expected = read_prepared(path)
    kept = cache.cached_prepared(path)
    assert (kept.dataset.features != expected.dataset.features).nnz == 0
    assert np.array_equal(kept.split.train, expected.split.train)


def test_without_warm_the_file_is_read_each_time(copies):
    first, second = cache.cached_prepared(copies[0]), cache.cached_prepared(copies[0])
    assert first is not second
    assert (first.dataset.features != second.dataset.features).nnz == 0
    assert not cache.is_cached(copies[0])


def test_a_changed_file_is_read_again(copies):
    path = copies[0]
    cache.warm(path)
    kept = cache.cached_prepared(path)
    _touch(path)
    assert not cache.is_cached(path)
    assert cache.cached_prepared(path) is not kept
    cache.warm(path)  # the new version replaces the old one
    assert cache.is_cached(path)
    assert len(cache._PREPARED) == 1


def test_at_most_limit_files_stay_least_recently_warmed_first(copies):
    a, b, c = copies
    cache.warm(a, limit=2)
    cache.warm(b, limit=2)
    cache.warm(a, limit=2)  # a is now the most recent
    cache.warm(c, limit=2)
    assert [cache.is_cached(p) for p in (a, b, c)] == [True, False, True]


def test_the_limit_comes_from_the_environment(copies, monkeypatch):
    assert cache.cache_limit() == cache.CACHE_ENTRIES == 2
    assert cache.cache_limit({"MTRL_WORKER_CACHE": "5"}) == 5
    monkeypatch.setenv("MTRL_WORKER_CACHE", "1")
    for path in copies:
        cache.warm(path)
    assert [cache.is_cached(p) for p in copies] == [False, False, True]
    monkeypatch.setenv("MTRL_WORKER_CACHE", "0")  # keep none
    cache.clear()
    cache.warm(copies[0])
    assert not cache.is_cached(copies[0])


def test_a_missing_file_is_an_error_not_an_entry(tmp_path):
    missing = tmp_path / "absent.h5"
    assert not cache.is_cached(missing)
    with pytest.raises(OSError):
        cache.warm(missing)
    with pytest.raises(OSError):
        cache.cached_prepared(missing)
    assert not cache._PREPARED
