"""Sharing presets of hard parameter sharing, and the one check of a sharing mask (no Keras).

A preset is a 0/1 mask over the hidden layers: 1 = one layer shared by every task tower, 0 = one
layer per task. ``none`` (every layer private: the single-task baseline's preset) and ``full``
(every layer shared) span the hidden layers whatever their number; ``low``, ``high`` and
``interspersed`` are masks over the study's 4 hidden layers. A config adds or redefines presets
under ``sharing_presets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

#: Built-in presets, as masks over the study's 4 hidden layers (1 = shared, 0 = one layer per task).
BUILTIN_PRESETS: dict[str, tuple[int, ...]] = {
    "low": (1, 1, 0, 0),
    "high": (0, 0, 1, 1),
    "interspersed": (1, 0, 0, 1),
    "full": (1, 1, 1, 1),
    "none": (0, 0, 0, 0),
}
#: Built-in presets that give every hidden layer the same entry, whatever the network's depth.
UNIFORM_PRESETS: dict[str, int] = {"none": 0, "full": 1}


class PresetError(ValueError):
    """A sharing preset that is unknown or does not fit the network, with the config key."""


def preset_table(n_layers: int, user_presets: Mapping[str, Sequence[int]] | None = None) -> dict[str, tuple]:
    """Every preset for a network of ``n_layers`` hidden layers: the built-ins, then the user's.

    A user preset may redefine a built-in. Masks are returned as given (not checked).
    """
    presets = {
        name: (UNIFORM_PRESETS[name],) * n_layers if name in UNIFORM_PRESETS else mask
        for name, mask in BUILTIN_PRESETS.items()
    }
    presets.update({name: tuple(mask) for name, mask in (user_presets or {}).items()})
    return presets


def checked_mask(mask: Sequence, n_layers: int, what: str = "sharing mask") -> tuple[bool, ...]:
    """``mask`` as booleans, after checking that it has one 0/1 entry per hidden layer.

    The one check of a mask's length; ``what`` names the mask in the ValueError.
    """
    shown = [int(v) if isinstance(v, bool) else v for v in mask]
    if len(shown) != n_layers:
        raise ValueError(
            f"{what} = {shown} has {len(shown)} entries but model.widths has {n_layers} hidden "
            "layers; give one entry per hidden layer, each 0 or 1"
        )
    if any(v not in (0, 1) for v in shown):
        raise ValueError(f"{what} = {shown}: entries must be 0 (one layer per task) or 1 (shared)")
    return tuple(bool(v) for v in shown)


def resolve_masks(
    names: Iterable[str], n_layers: int, user_presets: Mapping[str, Sequence[int]] | None = None
) -> dict[str, tuple[bool, ...]]:
    """The boolean mask of every preset that fits ``n_layers`` hidden layers, by name.

    Each of ``names`` (the presets a study runs) must be known and fit, else :class:`PresetError`
    names its config key, its value and what is allowed. Other presets that do not fit (e.g. a
    4-layer built-in in a 3-layer network) are left out.
    """
    user = dict(user_presets or {})
    table = preset_table(n_layers, user)
    for name in names:
        if name not in table:
            raise PresetError(
                f"sharing: unknown preset {name!r}; available presets: {', '.join(sorted(table))} "
                "(define new ones under sharing_presets)"
            )
        what = f"sharing_presets.{name}" if name in user else f"sharing: built-in preset {name!r}"
        try:
            checked_mask(table[name], n_layers, what)
        except ValueError as err:
            raise PresetError(str(err)) from None
    masks = {}
    for name, mask in table.items():
        try:
            masks[name] = checked_mask(mask, n_layers)
        except ValueError:
            continue
    return masks
