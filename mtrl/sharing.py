"""The entries of a study's ``sharing``: a network, optionally with a loss weighting (no Keras).

An entry of ``sharing`` names a network, either a preset of hard sharing (a mask over the hidden
layers: :mod:`mtrl.architectures.presets`) or a soft-sharing architecture
(:func:`mtrl.architectures.swept_architectures`: ``cross_stitch``, ``mmoe``, ``cgc``, ``ple``,
configured under ``architectures.<name>``), and optionally the loss weighting it trains with:
``<network>+<weighting>`` (``low+uw``, ``mmoe+pcgrad``; :data:`mtrl.weightings.WEIGHTINGS`,
configured under ``weightings.<name>``); a plain name trains with equal weighting.
:func:`split_entry` is the one place that reads an entry. Each entry names one run path,
``runs/{coupling}/{sharing}/n{n}/seed{s}``. The functions here read a defaulted config.
"""

from __future__ import annotations

from typing import Any

from mtrl.architectures import create, swept_architectures
from mtrl.architectures.presets import preset_table
from mtrl.errors import ConfigError
from mtrl.weightings import DEFAULT_WEIGHTING, WEIGHTINGS, method_options, supports_backend

#: What joins a network and a loss weighting in a ``sharing`` entry (``low+uw``).
SEPARATOR = "+"


def split_entry(entry: str) -> tuple[str, str]:
    """``(network, weighting)`` of a ``sharing`` entry: ``low+uw`` -> ``("low", "uw")``,
    ``mmoe`` -> ``("mmoe", "equal")`` (a plain name means :data:`~mtrl.weightings.DEFAULT_WEIGHTING`).
    The network is a preset or an architecture; neither part is checked here."""
    network, _, weighting = entry.partition(SEPARATOR)
    return network, weighting or DEFAULT_WEIGHTING


def architecture_entries(config: dict[str, Any]) -> list[str]:
    """The entries of ``sharing`` whose network is a soft-sharing architecture (``mmoe``,
    ``mmoe+uw``), in config order."""
    swept = set(swept_architectures())
    return [entry for entry in config["sharing"] if split_entry(entry)[0] in swept]


def preset_entries(config: dict[str, Any]) -> list[str]:
    """The entries of ``sharing`` whose network is a hard-sharing preset (every other entry:
    ``low``, ``low+uw``), in config order."""
    swept = set(swept_architectures())
    return [entry for entry in config["sharing"] if split_entry(entry)[0] not in swept]


def preset_names(config: dict[str, Any]) -> list[str]:
    """The presets that the entries of ``sharing`` name, once each, in config order."""
    return list(dict.fromkeys(split_entry(entry)[0] for entry in preset_entries(config)))


def check_sharing(config: dict[str, Any]) -> None:
    """Every entry of ``sharing`` names a preset or an architecture and a known weighting that
    trains on the study's ``backend``; no preset takes an architecture's name; each architecture
    named builds from its ``architectures`` block and ``model``.

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
    for entry in config["sharing"]:
        network, weighting = split_entry(entry)
        if network not in presets and network not in swept:
            within = "" if network == entry else f" (in {entry!r})"
            raise ConfigError(
                f"sharing: unknown preset {network!r}{within}; available presets: "
                f"{', '.join(sorted(presets))} "
                f"(define new ones under sharing_presets); or an architecture: {', '.join(swept)} "
                "(its options under architectures)"
            )
        _check_weighting(config, entry, weighting)
    model = config["model"]
    for name in dict.fromkeys(split_entry(entry)[0] for entry in architecture_entries(config)):
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


def _check_weighting(config: dict[str, Any], entry: str, name: str) -> None:
    """The weighting ``name`` of ``sharing`` entry ``entry`` is known and trains on ``backend``."""
    if name not in WEIGHTINGS:
        raise ConfigError(
            f"sharing: {entry!r} names unknown weighting {name!r}; known weightings: "
            f"{', '.join(WEIGHTINGS.names())} (write '<preset or architecture>+<weighting>', e.g. low+uw)"
        )
    if not supports_backend(name, config["backend"]):
        supported = WEIGHTINGS.get(name).backends or ()
        raise ConfigError(
            f"sharing: {entry!r}: weighting {name!r} does not train on backend "
            f"{config['backend']!r} (backend); it trains on: {', '.join(supported)}"
        )


def architecture_options(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The options of architecture ``name`` as its block under ``architectures`` gives them."""
    return dict(config["architectures"][name])


def weighting_parameters(config: dict[str, Any], entry: str) -> dict[str, Any]:
    """The ``RunSpec`` fields of the weighting of ``sharing`` entry ``entry`` (``low+uw``):
    ``weighting`` and its ``weighting_options`` (the config's ``weightings.<name>``); none for
    ``equal`` (the ``RunSpec`` default), so that the runs of plain entries keep their parameters."""
    name = split_entry(entry)[1]
    if name == DEFAULT_WEIGHTING:
        return {}
    return {"weighting": name, "weighting_options": method_options(name, config["weightings"].get(name))}


def sharing_parameters(
    config: dict[str, Any], entry: str, masks: dict[str, tuple[bool, ...]]
) -> dict[str, Any]:
    """The ``RunSpec`` keyword arguments that set a run's network and weighting by its ``sharing``
    entry.

    A preset: its mask (``masks``: :func:`mtrl.config.sharing_masks`), the hard-sharing
    architecture by default; an architecture: its name and options (no mask); then the entry's
    weighting (:func:`weighting_parameters`: none for equal weighting).
    """
    network = split_entry(entry)[0]
    if network in swept_architectures():
        fields = {"architecture": network, "architecture_options": architecture_options(config, network)}
    elif network in masks:
        fields = {"sharing_mask": list(masks[network])}
    else:
        raise ConfigError(
            f"sharing: unknown preset {network!r}; available presets: {', '.join(sorted(masks))}"
        )
    return {**fields, **weighting_parameters(config, entry)}


__all__ = [
    "SEPARATOR",
    "architecture_entries",
    "architecture_options",
    "check_sharing",
    "preset_entries",
    "preset_names",
    "sharing_parameters",
    "split_entry",
    "weighting_parameters",
]
