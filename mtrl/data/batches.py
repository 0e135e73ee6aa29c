"""Dense mini-batches cut from sparse CSR features (the full matrix is never densified)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

FEATURE_TRANSFORMS = ("log1p", "counts", "binary")


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


@dataclass
class TaskTargets:
    """A task's training targets over some rows: values (0 where missing) and a label mask."""

    values: np.ndarray
    mask: np.ndarray


@dataclass
class BatchSource:
    """Rows of a split with their per-task targets, cut into dense batches."""

    features: sp.csr_matrix
    rows: np.ndarray
    targets: Mapping[str, TaskTargets]
    batch_size: int
    transform: str = "log1p"

    def __len__(self) -> int:
        return int(np.ceil(len(self.rows) / self.batch_size))

    def batch(self, index: int, order: np.ndarray | None = None):
        """``(x, y, w)``: dense inputs, per-task targets and per-task sample weights.

        Every batch has ``batch_size`` rows: a short last batch is padded with zero rows of weight
        zero, so that compiled training steps see one shape. A task's weights are its label mask
        rescaled so that the loss is the mean over the labelled examples of the batch (zero if
        none is labelled).
        """
        positions = np.arange(len(self.rows)) if order is None else order
        sel = positions[index * self.batch_size : (index + 1) * self.batch_size]
        pad = self.batch_size - len(sel)
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
            w[slug] = mask * (self.batch_size / n) if n > 0 else mask
        return x, y, w
