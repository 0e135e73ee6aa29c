"""Host mini-batches as the ``keras.utils.PyDataset`` that ``fit`` reads (every backend)."""

from __future__ import annotations

import keras

from mtrl.data.batches import BatchSource, EpochOrder


class CsrBatches(keras.utils.PyDataset):
    """The batches of a :class:`~mtrl.data.batches.BatchSource`, reshuffled each epoch."""

    def __init__(self, source: BatchSource, shuffle: bool, seed: int) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.source = source
        self.order = EpochOrder(len(source.rows), shuffle, seed)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int):
        return self.source.batch(index, self.order.positions)

    def on_epoch_end(self) -> None:
        self.order.next_epoch()


def keras_dataset(source: BatchSource, shuffle: bool, seed: int) -> CsrBatches:
    """``source``'s batches for ``fit``: in :class:`~mtrl.data.batches.EpochOrder`'s order."""
    return CsrBatches(source, shuffle, seed)
