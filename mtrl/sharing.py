"""Sharing presets: which hidden layers every task tower shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Built-in presets over the study's 4 hidden layers (1 = shared, 0 = one layer per task).
BUILTIN_PRESETS: dict[str, tuple[int, ...]] = {
    "low": (1, 1, 0, 0),
    "high": (0, 0, 1, 1),
    "interspersed": (1, 0, 0, 1),
    "full": (1, 1, 1, 1),
    "none": (0, 0, 0, 0),
}


def all_presets(user_presets: Mapping[str, Sequence[int]] | None = None) -> dict[str, tuple[int, ...]]:
    """Built-in presets merged with user-defined ones (a user preset may override a built-in)."""
    presets = dict(BUILTIN_PRESETS)
    for name, mask in (user_presets or {}).items():
        presets[name] = tuple(int(v) for v in mask)
    return presets


def resolve_mask(
    name: str, n_layers: int, user_presets: Mapping[str, Sequence[int]] | None = None
) -> tuple[bool, ...]:
    """The boolean sharing mask of preset ``name`` for a network of ``n_layers`` hidden layers."""
    presets = all_presets(user_presets)
    if name not in presets:
        raise ValueError(
            f"sharing preset {name!r} is unknown; known presets: {', '.join(sorted(presets))} "
            "(define new ones under 'sharing_presets')"
        )
    mask = presets[name]
    if len(mask) != n_layers:
        raise ValueError(
            f"sharing preset {name!r} = {list(mask)} has {len(mask)} entries but model.widths "
            f"has {n_layers} hidden layers"
        )
    if any(v not in (0, 1) for v in mask):
        raise ValueError(f"sharing preset {name!r} = {list(mask)}: entries must be 0 or 1")
    return tuple(bool(v) for v in mask)
