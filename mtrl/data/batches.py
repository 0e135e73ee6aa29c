"""Mini-batches cut from sparse CSR features (the full matrix is never densified).

A batch's inputs are either a dense array (any backend) or the batch's non-zeros
(:func:`sparse_parts`, for a training step that reads the words directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

FEATURE_TRANSFORMS = ("log1p", "counts", "binary")
EVAL_BATCH = 1024  # at most this many rows per evaluation batch (validation, predictions)


def eval_batch_size(n_rows: int, limit: int = EVAL_BATCH) -> int:
    """Rows per evaluation batch: as even as possible, so that padding the last batch wastes little."""
    n_batches = max(1, -(-n_rows // limit))
    return max(1, -(-n_rows // n_batches))


def transformed_rows(features: sp.csr_matrix, rows: np.ndarray, transform: str) -> sp.csr_matrix:
    """Rows of ``features`` as a float32 CSR block, transformed (``log1p``, ``counts``, ``binary``)."""
    block = features[rows]
    data = block.data.astype(np.float32, copy=True)
    if transform == "log1p":
        np.log1p(data, out=data)
    elif transform == "binary":
        data[:] = 1.0
    elif transform != "counts":
        raise ValueError(f"feature transform {transform!r} is not one of {', '.join(FEATURE_TRANSFORMS)}")
    return sp.csr_matrix((data, block.indices, block.indptr), shape=block.shape)


def densify(
    features: sp.csr_matrix, rows: np.ndarray, transform: str, n_rows: int | None = None
) -> np.ndarray:
    """Rows of ``features`` as a dense float32 array, transformed (``log1p``, ``counts``, ``binary``).

    With ``n_rows`` larger than ``len(rows)`` the result is padded with zero rows.
    """
    block = transformed_rows(features, rows, transform)
    out = np.zeros((max(n_rows or 0, block.shape[0]), block.shape[1]), dtype=np.float32)
    # scatter the CSR block into the dense buffer without building COO index arrays twice
    row_of_entry = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    out[row_of_entry, block.indices] = block.data
    return out


SPARSE_KEYS = ("word_ids", "word_offsets", "word_values")


def sparse_parts(block: sp.csr_matrix, n_rows: int | None = None) -> dict[str, np.ndarray]:
    """The non-zeros of CSR rows as ``embedding_bag``-style arrays (keys :data:`SPARSE_KEYS`).

    ``word_ids`` (int64) and ``word_values`` (float32) list each row's entries in order;
    ``word_offsets`` (int64, one per row) is where each row starts. With ``n_rows`` larger than
    the block, empty rows are appended (a padded batch).
    """
    n_rows = max(n_rows or 0, block.shape[0])
    offsets = np.full(n_rows, block.indptr[-1], dtype=np.int64)
    offsets[: block.shape[0]] = block.indptr[:-1]
    return {
        "word_ids": block.indices.astype(np.int64),
        "word_offsets": offsets,
        "word_values": block.data.astype(np.float32, copy=False),
    }


@dataclass
class TaskTargets:
    """A task's training targets over some rows: values (0 where missing), a label mask and
    optional per-row weights (e.g. class weights, :mod:`mtrl.data.class_weights`; None: all 1)."""

    values: np.ndarray
    mask: np.ndarray
    weights: np.ndarray | None = None

    def row_weights(self) -> np.ndarray:
        """The label mask as float32, times the row weights where there are any."""
        mask = self.mask.astype(np.float32)
        return mask if self.weights is None else mask * self.weights.astype(np.float32)


@dataclass
class BatchSource:
    """Rows of a split with their per-task targets, cut into batches.

    ``sparse``: a batch's inputs are its non-zeros (:func:`sparse_parts`) instead of a dense array.
    """

    features: sp.csr_matrix
    rows: np.ndarray
    targets: Mapping[str, TaskTargets]
    batch_size: int
    transform: str = "log1p"
    sparse: bool = False

    def __len__(self) -> int:
        return int(np.ceil(len(self.rows) / self.batch_size))

    def batch(self, index: int, order: np.ndarray | None = None):
        """``(x, y, w)``: inputs (dense, or the non-zeros), per-task targets and sample weights.

        Every batch has ``batch_size`` rows: a short last batch is padded with zero rows of weight
        zero, so that compiled training steps see one shape. A task's weights are its label mask
        (times its row weights, if any) rescaled so that the loss is the mean over the labelled
        examples of the batch (zero if none is labelled).
        """
        sel = batch_positions(len(self.rows), index, self.batch_size, order)
        pad = self.batch_size - len(sel)
        if self.sparse:
            block = transformed_rows(self.features, self.rows[sel], self.transform)
            x = sparse_parts(block, n_rows=self.batch_size)
        else:
            x = densify(self.features, self.rows[sel], self.transform, n_rows=self.batch_size)
        y, w = {}, {}
        for slug, t in self.targets.items():
            values = t.values[sel]
            y[slug] = (
                np.concatenate([values, np.zeros((pad, *values.shape[1:]), values.dtype)]) if pad else values
            )
            mask = np.zeros(self.batch_size, dtype=np.float32)
            mask[: len(sel)] = t.mask[sel]
            n = mask.sum()
            if t.weights is not None:
                mask[: len(sel)] *= t.weights[sel]
            w[slug] = mask * (self.batch_size / n) if n > 0 else mask
        return x, y, w


def batch_positions(n_rows: int, index: int, batch_size: int, order: np.ndarray | None = None) -> np.ndarray:
    """Positions (into a split's ``n_rows`` rows) of batch ``index`` of an epoch visiting ``order``."""
    start, stop = index * batch_size, min((index + 1) * batch_size, n_rows)
    return np.arange(start, stop) if order is None else order[start:stop]


class EpochOrder:
    """The order in which the epochs of training visit a split's rows.

    A new permutation from ``default_rng(seed)`` each epoch when ``shuffle``, else the rows in turn
    (``positions`` None). Every training path draws its batches from this, so all see one order.
    """

    def __init__(self, n_rows: int, shuffle: bool, seed: int) -> None:
        self.n_rows, self.shuffle = n_rows, shuffle
        self.rng = np.random.default_rng(seed)
        self.positions = self.rng.permutation(n_rows) if shuffle else None

    def next_epoch(self) -> None:
        if self.shuffle:
            self.positions = self.rng.permutation(self.n_rows)
