"""The JAX-backend training path for accelerators: the data on the device, one call per epoch.

Keras's ``fit`` on JAX copies every batch from the host and dispatches one compiled step per
batch; on a GPU the study's small steps (batch 128) then wait on the host. Here:

- :class:`DeviceRows` keeps a split's bag-of-words rows on the device in a padded sparse layout
  (the column ids and values of each row's non-zeros, ``ELL``) with its targets and label masks
  (times any row weights, e.g. class weights); a batch is gathered and densified inside the
  compiled step. The data is never dense in full.
- :class:`DeviceModel` is the same functional model whose train and test functions run all the
  steps Keras hands them at once (``steps_per_execution``) as one ``jax.lax.scan`` over batches
  of row positions, each step Keras's own ``train_step`` / ``test_step``. Keras's ``fit`` loop,
  callbacks, early stopping and metrics stay as they are, except that batch-level callback hooks
  run once per call (once per epoch), not once per batch.
- :class:`RowBatches` is the ``PyDataset`` that hands ``fit`` those row positions, shuffled as
  mtrl's host batches are (same generator, same order, the same padded last batch), and
  :meth:`DeviceRows.batch` gives them the label-mask weights of
  :class:`mtrl.data.batches.BatchSource`, so a run trains on the same batches either way.

Relies on Keras internals (``_symbolic_build``, ``_compile_loss``/``_compile_metrics``, the epoch
iterator handed to the train function; Keras 3.15); tests/test_jax_training.py checks whole runs
against the host path. Import only with ``KERAS_BACKEND=jax``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import keras
import numpy as np
import scipy.sparse as sp

from mtrl.data.batches import EpochOrder, TaskTargets, batch_positions, transformed_rows


@jax.tree_util.register_pytree_node_class
@dataclass(eq=False)
class DeviceRows:
    """A split's rows on the device: padded non-zeros, targets and label masks per output.

    The arrays have ``n_rows`` rounded up to a multiple of 1,024 and the widest row rounded up to
    a power of two (at least 32), so that runs of one size (other seeds, other couplings) share
    compiled programs; the padding is never indexed.
    """

    cols: jax.Array  # (n, k) int32 column ids, padding 0
    values: jax.Array  # (n, k) float32 transformed values, padding 0.0
    targets: dict[str, jax.Array]  # per output slug: (n, 1) float32 or (n,) int32
    masks: dict[str, jax.Array]  # per output slug: (n,) float32, the row weight where labelled, else 0
    n_cols: int
    n_rows: int  # the real rows (the arrays are longer)

    @classmethod
    def of(
        cls,
        features: sp.csr_matrix,
        rows: np.ndarray,
        targets: Mapping[str, TaskTargets],
        transform: str,
    ) -> DeviceRows:
        """``rows`` of ``features`` (transformed) and their targets, copied to the device."""
        block = transformed_rows(features, rows, transform)
        per_row = np.diff(block.indptr)
        if not features.has_canonical_format:
            raise ValueError("DeviceRows: the feature matrix has duplicate or unsorted entries")
        n = -(-max(1, len(rows)) // ROW_BLOCK) * ROW_BLOCK
        width = shape_bucket(max(32, int(per_row.max(initial=0))))
        cols = np.zeros((n, width), dtype=np.int32)
        values = np.zeros((n, width), dtype=np.float32)
        slot = np.arange(block.nnz) - np.repeat(block.indptr[:-1], per_row)
        row_of_entry = np.repeat(np.arange(len(rows)), per_row)
        cols[row_of_entry, slot] = block.indices
        values[row_of_entry, slot] = block.data

        def padded(a: np.ndarray) -> jax.Array:
            return jnp.asarray(np.concatenate([a, np.zeros((n - len(a), *a.shape[1:]), a.dtype)]))

        return cls(
            jnp.asarray(cols),
            jnp.asarray(values),
            {slug: padded(t.values) for slug, t in targets.items()},
            {slug: padded(t.row_weights()) for slug, t in targets.items()},
            int(features.shape[1]),
            len(rows),
        )

    def batch(self, positions: jax.Array) -> tuple[jax.Array, dict, dict]:
        """``(x, y, w)`` of the rows at ``positions`` (-1 = padding), as ``BatchSource.batch``."""
        valid = positions >= 0
        at = jnp.where(valid, positions, 0)
        n = positions.shape[0]
        values = jnp.where(valid[:, None], self.values[at], 0.0)
        x = jnp.zeros((n, self.n_cols), values.dtype).at[jnp.arange(n)[:, None], self.cols[at]].add(values)
        y, w = {}, {}
        for slug, target in self.targets.items():
            y[slug] = jnp.where(valid.reshape((-1,) + (1,) * (target.ndim - 1)), target[at], 0)
            mask = jnp.where(valid, self.masks[slug][at], 0.0)
            labelled = (mask > 0).sum(dtype=mask.dtype)  # the mask carries row weights (all 1 without)
            w[slug] = jnp.where(labelled > 0, mask * (n / jnp.maximum(labelled, 1.0)), mask)
        return x, y, w

    def stand_in(self, n_rows: int) -> tuple[np.ndarray, dict, dict]:
        """A zero batch of this split's shapes and dtypes (for Keras's symbolic build)."""
        y = {s: np.zeros((n_rows, *t.shape[1:]), t.dtype) for s, t in self.targets.items()}
        w = {s: np.zeros(n_rows, np.float32) for s in self.targets}
        return np.zeros((n_rows, self.n_cols), np.float32), y, w

    def __len__(self) -> int:
        return self.n_rows

    def tree_flatten(self) -> tuple[tuple, int]:
        # n_rows is a leaf, not static: the compiled functions depend on the arrays' shapes only
        return (self.cols, self.values, self.targets, self.masks, self.n_rows), self.n_cols

    @classmethod
    def tree_unflatten(cls, n_cols: int, children: tuple) -> DeviceRows:
        cols, values, targets, masks, n_rows = children
        return cls(cols, values, targets, masks, n_cols, n_rows)


class RowBatches(keras.utils.PyDataset):
    """Batches of row positions (padded with -1) into a :class:`DeviceRows`, one per step.

    Their order is the host path's (:class:`mtrl.data.batches.EpochOrder`, as
    :func:`mtrl.backends.host_batches.keras_dataset` uses it).
    """

    def __init__(self, n_rows: int, batch_size: int, shuffle: bool, seed: int) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.n_rows, self.batch_size = n_rows, batch_size
        self.order = EpochOrder(n_rows, shuffle, seed)

    def __len__(self) -> int:
        return -(-self.n_rows // self.batch_size)

    def __getitem__(self, index: int) -> np.ndarray:
        out = np.full(self.batch_size, -1, dtype=np.int32)
        part = batch_positions(self.n_rows, index, self.batch_size, self.order.positions)
        out[: len(part)] = part
        return out

    def on_epoch_end(self) -> None:
        self.order.next_epoch()


class DeviceModel(keras.Model):
    """A functional model trained from :class:`DeviceRows` by ``lax.scan`` over Keras's own steps.

    Bind the data with :meth:`bind`, compile with ``steps_per_execution`` (how many steps one call
    runs: the batches of an epoch, for one call per epoch), then ``fit`` :class:`RowBatches` of the
    training rows, with :class:`RowBatches` of the validation rows as ``validation_data``.
    Outside ``fit`` it only predicts: evaluate, or train on single batches, the functional model.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._rows: dict[str, DeviceRows | None] = {"train": None, "validation": None}
        self._fitting = False

    def bind(self, train: DeviceRows, validation: DeviceRows | None = None) -> None:
        """The rows that training batches (and validation batches) index into."""
        self._rows = {"train": train, "validation": validation}

    def bound_rows(self, split: str) -> DeviceRows:
        """The rows bound for ``split`` (``train`` or ``validation``)."""
        rows = self._rows[split]
        if rows is None:
            raise ValueError(f"DeviceModel: no {split} rows bound (call bind() first)")
        return rows

    def fit(self, *args, **kwargs):
        if self._rows["train"] is None:
            raise ValueError("DeviceModel.fit: no training rows bound (call bind() first)")
        self._fitting = True
        try:
            return super().fit(*args, **kwargs)
        finally:
            self._fitting = False

    def evaluate(self, *args, **kwargs):
        if not self._fitting:  # positions alone cannot say which rows they index
            raise NotImplementedError("DeviceModel evaluates its bound validation rows inside fit only")
        return super().evaluate(*args, **kwargs)

    def train_on_batch(self, *args, **kwargs):
        raise NotImplementedError("DeviceModel trains through fit only")

    def test_on_batch(self, *args, **kwargs):
        raise NotImplementedError("DeviceModel evaluates inside fit only")

    def _symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds losses and metrics from a first batch: give it a dense stand-in.

        The iterator is still read as Keras reads it (which draws its batch-order shuffle), so that
        the batches of every epoch are those of the host path.
        """
        unbuilt = any(
            part is not None and not part.built for part in (self._compile_metrics, self._compile_loss)
        )
        if unbuilt and iterator is not None and data_batch is None:
            for _, _, data in iterator:
                if not isinstance(data, (list, tuple)):
                    next(data)
                break
        return super()._symbolic_build(data_batch=self._rows["train"].stand_in(1))

    def _scanned(self, step: Callable, split: str) -> Callable:
        def run(state, blocks, rows):
            def body(carry, positions):
                logs, carry = step(carry, rows.batch(positions))
                return carry, logs

            state, logs = jax.lax.scan(body, state, blocks)
            return jax.tree.map(lambda v: v[-1], logs), state

        compiled = jax.jit(run, donate_argnums=0)

        def function(state, iterator):
            blocks = [next(iterator)]
            try:
                for _ in range(self.steps_per_execution - 1):
                    blocks.append(next(iterator))
            except StopIteration:
                pass
            rows = self.bound_rows(split)
            # Keras hands each PyDataset item as a 1-tuple ``(positions,)``, on an accelerator
            # already on the device: stacked there, since a copy back to the host per batch costs
            # more than the step itself on a GPU
            positions = jnp.stack([jnp.asarray(b[0] if isinstance(b, (tuple, list)) else b) for b in blocks])
            # one scan over all the steps, one call per epoch (compiled once per number of batches)
            return compiled(state, positions, rows)

        return function

    def make_train_function(self, force: bool = False) -> None:
        if self.train_function is None or force:
            self.train_function = self._scanned(self.train_step, "train")

    def make_test_function(self, force: bool = False) -> None:
        if self.test_function is None or force:
            self.test_function = self._scanned(self.test_step, "validation")


ROW_BLOCK = 1024  # DeviceRows round their row count up to a multiple of this


def shape_bucket(n: int) -> int:
    """``n`` rounded up to a power of two (the shapes the compiled functions are built for)."""
    return 1 << max(0, int(n) - 1).bit_length()


def device_view(model: keras.Model) -> DeviceModel:
    """A :class:`DeviceModel` over ``model``'s graph: same layers, weights and named outputs."""
    outputs = dict(zip(model.output_names, model.outputs, strict=True))
    return DeviceModel(inputs=model.inputs, outputs=outputs, name=model.name)
