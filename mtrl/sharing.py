"""The entries of a study's ``sharing``: hard-sharing presets and soft-sharing architectures (no Keras).

An entry of ``sharing`` is either a preset of hard sharing (a mask over the hidden layers:
:mod:`mtrl.architectures.presets`) or the name of a soft-sharing architecture
(:func:`mtrl.architectures.swept_architectures`: ``cross_stitch``, ``mmoe``, ``cgc``, ``ple``),
configured under ``architectures.<name>``. Either way it names one run path,
``runs/{coupling}/{sharing}/n{n}/seed{s}``. The functions here read a defaulted config.
"""

from __future__ import annotations

from typing import Any

from mtrl.architectures import create, swept_architectures
from mtrl.architectures.presets import preset_table
from mtrl.errors import ConfigError


def architecture_entries(config: dict[str, Any]) -> list[str]:
    """The entries of ``sharing`` that name a soft-sharing architecture, in config order."""
    swept = set(swept_architectures())
    return [name for name in config["sharing"] if name in swept]


def preset_entries(config: dict[str, Any]) -> list[str]:
    """The entries of ``sharing`` that name a hard-sharing preset (every other entry), in config order."""
    swept = set(swept_architectures())
    return [name for name in config["sharing"] if name not in swept]


def check_sharing(config: dict[str, Any]) -> None:
    """Every entry of ``sharing`` is a preset or an architecture; no preset takes an architecture's
    name; each architecture named builds from its ``architectures`` block and ``model``.

    :raises ConfigError: naming the key, the value and what is allowed.
    """
    swept = swept_architectures()
    for name in config["sharing_presets"]:
        if name in swept:
            raise ConfigError(
                f"sharing_presets.{name}: {name!r} is the name of an architecture ({', '.join(swept)}); "
                "give the preset another name"
            )
    presets = preset_table(len(config["model"]["widths"]), config["sharing_presets"])
    for name in config["sharing"]:
        if name not in presets and name not in swept:
            raise ConfigError(
                f"sharing: unknown preset {name!r}; available presets: {', '.join(sorted(presets))} "
                f"(define new ones under sharing_presets); or an architecture: {', '.join(swept)} "
                "(its options under architectures)"
            )
    model = config["model"]
    for name in architecture_entries(config):
        try:
            create(
                name,
                model["widths"],
                model["dropout"],
                model["activation"],
                **architecture_options(config, name),
            )
        except ValueError as err:
            raise ConfigError(str(err)) from None


def architecture_options(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The options of architecture ``name`` as its block under ``architectures`` gives them."""
    return dict(config["architectures"][name])


def sharing_parameters(
    config: dict[str, Any], sharing: str, masks: dict[str, tuple[bool, ...]]
) -> dict[str, Any]:
    """The ``RunSpec`` keyword arguments that set a run's network by its ``sharing`` entry.

    A preset: its mask (``masks``: :func:`mtrl.config.sharing_masks`), the hard-sharing
    architecture by default; an architecture: its name and options (no mask).
    """
    if sharing in swept_architectures():
        return {"architecture": sharing, "architecture_options": architecture_options(config, sharing)}
    if sharing not in masks:
        raise ConfigError(
            f"sharing: unknown preset {sharing!r}; available presets: {', '.join(sorted(masks))}"
        )
    return {"sharing_mask": list(masks[sharing])}


__all__ = [
    "architecture_entries",
    "architecture_options",
    "check_sharing",
    "preset_entries",
    "sharing_parameters",
]
