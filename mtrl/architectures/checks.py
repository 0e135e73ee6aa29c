"""Checks of the soft-sharing architectures' options, each naming its config key (no Keras).

The one place each option is checked: an architecture's constructor calls these, and so does
:func:`mtrl.config.check_config` (by building the architectures a study sweeps), so that a bad
value stops before any job runs. ``what`` is the option's config key, e.g.
``architectures.mmoe.experts``; every error names it, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The value of ``architectures.cross_stitch.layers`` that puts a unit after every hidden layer.
ALL_LAYERS = "all"


def option_key(architecture: str, option: str) -> str:
    """The config key of ``option`` of ``architecture``: ``architectures.<architecture>.<option>``."""
    return f"architectures.{architecture}.{option}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def checked_count(value: Any, what: str, minimum: int = 1) -> int:
    """``value`` as a whole number of at least ``minimum`` (e.g. a number of experts)."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{what} = {value!r}: give a whole number of at least {minimum}")
    return int(value)


def checked_widths(widths: Any, what: str) -> tuple[int, ...]:
    """``widths`` as a non-empty tuple of positive whole numbers (the widths of an expert's layers)."""
    if (
        isinstance(widths, (str, bytes))
        or not isinstance(widths, Sequence)
        or not widths
        or not all(_is_int(w) and w > 0 for w in widths)
    ):
        raise ValueError(
            f"{what} = {widths!r}: give a non-empty list of positive whole numbers (layer widths)"
        )
    return tuple(int(w) for w in widths)


def checked_rates(rates: Any, n_layers: int, what: str, widths_key: str) -> tuple[float, ...]:
    """``rates`` as one dropout rate in [0, 1) per layer of the ``n_layers`` of ``widths_key``."""
    if isinstance(rates, (str, bytes)) or not isinstance(rates, Sequence):
        raise ValueError(f"{what} = {rates!r}: give a list of dropout rates, one per layer of {widths_key}")
    if len(rates) != n_layers:
        raise ValueError(
            f"{what} = {list(rates)} has {len(rates)} entries but {widths_key} has {n_layers} layers; "
            "give one dropout rate per layer"
        )
    if not all(isinstance(r, (int, float)) and not isinstance(r, bool) and 0 <= r < 1 for r in rates):
        raise ValueError(f"{what} = {list(rates)}: each rate must be at least 0 and below 1")
    return tuple(float(r) for r in rates)


def checked_fraction(value: Any, what: str) -> float:
    """``value`` as a number in (0, 1] (e.g. the initial weight a cross-stitch unit gives its own task)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{what} = {value!r}: give a number above 0 and at most 1")
    return float(value)


def checked_layers(layers: Any, n_layers: int, what: str) -> tuple[int, ...]:
    """Hidden layers by number (1 = the first), ``"all"`` for every one: sorted, distinct, in range."""
    if layers == ALL_LAYERS:
        return tuple(range(1, n_layers + 1))
    allowed = f"{ALL_LAYERS!r} or a non-empty list of distinct hidden-layer numbers from 1 to {n_layers}"
    if (
        isinstance(layers, (str, bytes))
        or not isinstance(layers, Sequence)
        or not layers
        or not all(_is_int(k) and 1 <= k <= n_layers for k in layers)
        or len(set(layers)) != len(layers)
    ):
        raise ValueError(f"{what} = {layers!r}: give {allowed} (model.widths has {n_layers} layers)")
    return tuple(sorted(int(k) for k in layers))


def level_widths(widths: Sequence[int], levels: int, what: str, widths_key: str) -> list[tuple[int, ...]]:
    """The expert layers of each of ``levels`` extraction levels: ``widths`` split in order, as
    evenly as possible (the first levels take one more layer), at least one layer per level."""
    if levels > len(widths):
        raise ValueError(
            f"{what} = {levels}: each level needs at least one expert layer and {widths_key} = "
            f"{list(widths)} has {len(widths)}; give at most {len(widths)} levels or more widths"
        )
    base, extra = divmod(len(widths), levels)
    split, start = [], 0
    for level in range(levels):
        size = base + (1 if level < extra else 0)
        split.append(tuple(widths[start : start + size]))
        start += size
    return split
