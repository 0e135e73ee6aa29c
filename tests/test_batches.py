import numpy as np
import pytest
import scipy.sparse as sp

from mtrl.data.batches import BatchSource, TaskTargets, densify, sparse_parts, transformed_rows


@pytest.fixture
def counts() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((10, 30)) < 0.2, rng.integers(1, 6, (10, 30)), 0)
    dense[4] = 0  # a song with no words
    return sp.csr_matrix(dense.astype(np.float32))


def _from_parts(parts: dict[str, np.ndarray], n_cols: int) -> np.ndarray:
    """Rebuild the dense rows from ``sparse_parts`` (embedding_bag semantics)."""
    offsets = np.append(parts["word_offsets"], len(parts["word_ids"]))
    out = np.zeros((len(parts["word_offsets"]), n_cols), np.float32)
    for row in range(len(out)):
        span = slice(offsets[row], offsets[row + 1])
        np.add.at(out[row], parts["word_ids"][span], parts["word_values"][span])
    return out


@pytest.mark.parametrize("transform", ["log1p", "counts", "binary"])
def test_sparse_parts_hold_the_same_rows_as_densify(counts, transform):
    rows = np.array([7, 4, 0, 2])
    dense = densify(counts, rows, transform, n_rows=6)  # padded with two empty rows
    parts = sparse_parts(transformed_rows(counts, rows, transform), n_rows=6)
    assert parts["word_ids"].dtype == np.int64 and parts["word_offsets"].dtype == np.int64
    assert parts["word_values"].dtype == np.float32
    assert len(parts["word_offsets"]) == 6
    np.testing.assert_array_equal(_from_parts(parts, counts.shape[1]), dense)
    assert dense[1].sum() == 0 and dense[4:].sum() == 0


def test_batches_are_padded_with_zero_weight_rows_in_both_layouts(counts):
    targets = {"t": TaskTargets(np.arange(10, dtype=np.float32).reshape(-1, 1), np.arange(10) % 2 == 0)}
    dense_source = BatchSource(counts, np.arange(10), targets, batch_size=4)
    sparse_source = BatchSource(counts, np.arange(10), targets, batch_size=4, sparse=True)
    assert len(dense_source) == len(sparse_source) == 3
    order = np.random.default_rng(1).permutation(10)
    for index in range(3):
        x, y, w = dense_source.batch(index, order)
        parts, y_sparse, w_sparse = sparse_source.batch(index, order)
        assert x.shape == (4, 30)
        np.testing.assert_array_equal(_from_parts(parts, 30), x)
        np.testing.assert_array_equal(y["t"], y_sparse["t"])
        np.testing.assert_array_equal(w["t"], w_sparse["t"])
    # the last batch: two real rows, two padding rows of weight zero
    _, y, w = dense_source.batch(2, order)
    assert w["t"][2:].sum() == 0 and y["t"].shape == (4, 1)
    labelled = targets["t"].mask[order[8:]]
    # weights: the label mask rescaled so the loss is the mean over the labelled rows
    np.testing.assert_allclose(w["t"][:2], labelled * 4 / max(labelled.sum(), 1))
