"""The rows of R replicates of one split, cut into stacked mini-batches (never densified in full).

Each replicate has its own rows (its training subset and split, :mod:`mtrl.data.replicates`) and
its own batch order (:class:`mtrl.data.batches.EpochOrder`, from its seed, as on the one-run
path); a stacked batch holds the same number of rows of every replicate. Sample weights follow
:meth:`mtrl.data.batches.BatchSource.batch`: a short last batch is padded with rows of weight
zero, and a task's weights are rescaled so that its loss is the mean over the batch's labelled
rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from mtrl.backends.torch.sparse import SparseRows
from mtrl.data.batches import TaskTargets, transformed_rows


class StackedSplit:
    """R replicates' rows of one split: their CSR rows side by side and their targets stacked.

    ``rows``: per replicate, its rows of ``features`` (all of one length); ``targets``: per
    replicate, the task slug -> :class:`~mtrl.data.batches.TaskTargets` over those rows.
    """

    def __init__(
        self,
        features: sp.csr_matrix,
        rows: Sequence[np.ndarray],
        targets: Sequence[Mapping[str, TaskTargets]],
        transform: str,
        device: torch.device | str = "cpu",
    ) -> None:
        lengths = {len(r) for r in rows}
        if len(lengths) != 1:
            raise ValueError(
                f"the replicates of a stacked split need as many rows each, got {sorted(lengths)}"
            )
        self.n_rows = lengths.pop()
        self.n_cols = features.shape[1]
        block = sp.vstack([transformed_rows(features, r, transform) for r in rows], format="csr")
        self.device = torch.device(device)

        def on_device(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array).to(self.device)

        self.indptr = on_device(block.indptr.astype(np.int64))
        self.indices = on_device(block.indices.astype(np.int64))
        self.values = on_device(block.data.astype(np.float32))
        self.slugs = list(targets[0])
        self.y = {s: on_device(np.stack([t[s].values for t in targets])) for s in self.slugs}
        self.mask = {
            s: on_device(np.stack([t[s].mask for t in targets]).astype(np.float32)) for s in self.slugs
        }
        self.row_weights = {s: on_device(np.stack([t[s].row_weights() for t in targets])) for s in self.slugs}

    def batch(
        self, replicates: Sequence[int], positions: Sequence[np.ndarray], batch_size: int
    ) -> tuple[list[SparseRows], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``(x, y, w)`` of the rows at ``positions`` (per slot, positions into its replicate's rows,
        at most ``batch_size``), each slot padded to ``batch_size`` rows; slot k of the stack is
        replicate ``replicates[k]``, ``x[k]`` its batch's non-zeros."""
        n_stack = len(positions)
        padded = np.full((n_stack, batch_size), -1, dtype=np.int64)
        for slot, pos in enumerate(positions):
            padded[slot, : len(pos)] = pos
        pos = torch.from_numpy(padded).to(self.device)
        valid = pos >= 0
        pos = pos.clamp(min=0)
        rows = torch.as_tensor(np.asarray(replicates), dtype=torch.long, device=self.device)[:, None]
        index = rows * self.n_rows + pos
        starts = self.indptr[index]
        lengths = torch.where(valid, self.indptr[index + 1] - starts, 0)
        offsets = torch.cumsum(lengths, 1) - lengths  # each slot's bags start at 0
        flat_lengths = lengths.reshape(-1)
        total = int(flat_lengths.sum())
        flat_offsets = torch.cumsum(flat_lengths, 0) - flat_lengths
        shifts = (starts.reshape(-1) - flat_offsets).repeat_interleave(flat_lengths, output_size=total)
        entries = shifts + torch.arange(total, device=self.device)
        sizes = lengths.sum(dim=1).tolist()
        ids, values = torch.split(self.indices[entries], sizes), torch.split(self.values[entries], sizes)
        x = [SparseRows(i, o, v, self.n_cols) for i, v, o in zip(ids, values, offsets, strict=True)]
        y, w = {}, {}
        for slug in self.slugs:
            values = self.y[slug][rows, pos]
            values = torch.where(valid.reshape(*valid.shape, *([1] * (values.ndim - 2))), values, 0)
            mask = self.mask[slug][rows, pos] * valid
            weights = self.row_weights[slug][rows, pos] * valid
            n = mask.sum(dim=1, keepdim=True)
            y[slug] = values
            w[slug] = torch.where(n > 0, weights * (batch_size / n.clamp(min=1)), torch.zeros_like(weights))
        return x, y, w
