"""The reference the Keras paths are measured against: a hand-written PyTorch training loop.

The same network as mtrl's (1024-512-256-128, ReLU, dropout 0.5 after layers 3-4, one sigmoid
head per task, shared layers per the sharing mask), bfloat16 autocast and fused Adam, fed by the
same batches. Not part of mtrl: it only says how fast plain PyTorch goes on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
from torch import nn

WIDTHS = (1024, 512, 256, 128)
DROPOUT = (0.0, 0.0, 0.5, 0.5)


class Net(nn.Module):
    def __init__(self, tasks: int, sharing_mask: Sequence[bool], input_dim: int = 5000) -> None:
        super().__init__()
        self.tasks, self.mask = tasks, list(sharing_mask)
        self.layers = nn.ModuleList()
        fan_in = input_dim
        for width, shared in zip(WIDTHS, self.mask, strict=True):
            self.layers.append(
                nn.ModuleList([nn.Linear(fan_in, width) for _ in range(1 if shared else tasks)])
            )
            fan_in = width
        self.heads = nn.ModuleList([nn.Linear(fan_in, 1) for _ in range(tasks)])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        towers = [x] * self.tasks
        for layer, rate in zip(self.layers, DROPOUT, strict=True):
            if len(layer) == 1:
                cache: dict[int, torch.Tensor] = {}
                for i, h in enumerate(towers):
                    if id(h) not in cache:
                        cache[id(h)] = nn.functional.dropout(torch.relu(layer[0](h)), rate, self.training)
                    towers[i] = cache[id(h)]
            else:
                towers = [
                    nn.functional.dropout(torch.relu(f(h)), rate, self.training)
                    for f, h in zip(layer, towers, strict=True)
                ]
        return [head(h).float() for head, h in zip(self.heads, towers, strict=True)]


def train_epochs(batches, sharing_mask: Sequence[bool], epochs: int) -> list[float]:
    """Seconds of each epoch over ``batches`` (a Keras PyDataset of mtrl batches)."""
    torch.manual_seed(0)
    first = batches[0]
    net = Net(len(first[1]), sharing_mask)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    slugs = list(first[1])
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for index in range(len(batches)):
            x, y, w = batches[index]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = net(torch.from_numpy(x))
            loss = sum(
                nn.functional.binary_cross_entropy_with_logits(
                    out, torch.from_numpy(y[s]), weight=torch.from_numpy(w[s]).reshape(-1, 1)
                )
                for out, s in zip(logits, slugs, strict=True)
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        batches.on_epoch_end()
        times.append(time.perf_counter() - start)
    return times
