"""Checks of a study configuration beyond its JSON schema, and values derived from it.

The schema (``schemas/config.schema.yaml``) checks keys, types and ranges and is the one place of
every default; :func:`check_config` checks what needs several keys at once (tasks named in
couplings exist, presets exist and fit the network, training sizes fit the training split), so
that a bad config stops before any job runs. The workflow fills in the defaults of its config with
:func:`fill_defaults` (in place); code that builds a config itself passes it through
:func:`with_defaults` (or :func:`load_config`) first. The functions below read defaulted configs.
A schema error is told in one line by :func:`mtrl.schema_errors.explain`.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mtrl.architectures.presets import PresetError, resolve_masks
from mtrl.couplings import AUTO_NAMES
from mtrl.data.replicates import check_vary, varies_data
from mtrl.errors import ConfigError
from mtrl.kinds import SINGLE_SHARING
from mtrl.metric_names import check_metric_setting
from mtrl.schema import load_schema
from mtrl.schema_errors import explain, outermost
from mtrl.sharing import check_sharing, preset_names
from mtrl.tasks import slug_clash, task_slug

log = logging.getLogger(__name__)


def _fill_defaults(validator: Any, properties: dict, instance: Any, schema: dict) -> Iterator[Any]:
    """``properties`` that first sets each missing property that has a ``default`` (as Snakemake)."""
    if validator.is_type(instance, "object"):
        for name, subschema in properties.items():
            if "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
    yield from jsonschema.Draft202012Validator.VALIDATORS["properties"](
        validator, properties, instance, schema
    )


_DefaultingValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"properties": _fill_defaults}
)


def fill_defaults(config: dict[str, Any]) -> None:
    """Validate ``config`` against the schema and fill in its defaults, in place.

    As ``snakemake.utils.validate(config, schema)`` does (defaults are set where the parent object
    exists; parents default to ``{}``), but a bad value raises :class:`ConfigError` with one short
    message naming the key, the value and what is allowed (:func:`mtrl.schema_errors.explain`).
    """
    schema = load_schema()
    error = jsonschema.exceptions.best_match(_DefaultingValidator(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(explain(outermost(error), schema))


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` validated against the schema, with its defaults filled in
    (:func:`fill_defaults`; ``config`` is not changed)."""
    filled = copy.deepcopy(dict(config))
    fill_defaults(filled)
    return filled


def load_config(source: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """A study config (a YAML file or a dict) as the workflow sees it: defaulted and checked."""
    if not isinstance(source, Mapping):
        source = yaml.safe_load(Path(source).read_text())
    config = with_defaults(source)
    check_config(config)
    return config


def is_auto(config: dict[str, Any]) -> bool:
    """Whether the couplings are chosen from the data (``couplings: auto``)."""
    return config["couplings"] == "auto"


def coupling_names(config: dict[str, Any]) -> list[str]:
    """Names of the couplings, in config order (``tight``, ``loose`` when chosen automatically)."""
    return list(AUTO_NAMES) if is_auto(config) else list(config["couplings"])


def configured_couplings(config: dict[str, Any]) -> dict[str, list[str]]:
    """Coupling name -> tasks as configured, or the candidate pool of each when automatic."""
    if is_auto(config):
        pool = [config["target"], *config["auto_couplings"]["candidates"]]
        return {name: pool for name in AUTO_NAMES}
    return {name: list(members) for name, members in config["couplings"].items()}


def study_tasks(config: dict[str, Any]) -> list[str]:
    """Every task trained anywhere in the study: the target first, then in order of appearance.

    With ``couplings: auto`` these are the target and every candidate (each gets its single-task
    baseline, since which ones are chosen is known only once the data are prepared).
    """
    tasks = [config["target"]]
    for members in configured_couplings(config).values():
        tasks.extend(t for t in members if t not in tasks)
    return tasks


def known_tasks(config: dict[str, Any]) -> list[str] | None:
    """Tasks the data source can provide, when known before the data are prepared."""
    data = config["data"]
    if data["source"] == "synthetic":
        return list(data["synthetic"]["tasks"])
    return None


def training_split_rows(config: dict[str, Any]) -> int | None:
    """Rows of the training split, when known before the data are prepared."""
    data = config["data"]
    if data["source"] != "synthetic":
        return None
    n = int(data["synthetic"]["n_rows"])
    split = data["split"]
    return n - round(split["val_fraction"] * n) - round(split["test_fraction"] * n)


def check_config(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the first key and value that cannot work."""
    target = config["target"]
    if is_auto(config):
        auto = config["auto_couplings"]
        if target in auto["candidates"]:
            raise ConfigError(
                f"auto_couplings.candidates: lists the target {target!r}; give only auxiliary tasks"
            )
        if 2 * auto["k"] > len(auto["candidates"]):
            raise ConfigError(
                f"auto_couplings.k = {auto['k']}: tight and loose take k tasks each, so at least "
                f"{2 * auto['k']} candidates are needed ({len(auto['candidates'])} given)"
            )
    else:
        for name, members in config["couplings"].items():
            if target not in members:
                raise ConfigError(f"couplings.{name} = {members} does not contain the target task {target!r}")
    _check_task_names(config)
    known = known_tasks(config)
    if known is not None:
        if target not in known:
            raise ConfigError(f"target: unknown task {target!r}; available tasks: {', '.join(known)}")
        for name, members in configured_couplings(config).items():
            label = "auto_couplings.candidates" if is_auto(config) else f"couplings.{name}"
            for task in members:
                if task not in known:
                    raise ConfigError(f"{label}: unknown task {task!r}; available tasks: {', '.join(known)}")
    widths = config["model"]["widths"]
    if len(config["model"]["dropout"]) != len(widths):
        raise ConfigError(
            f"model.dropout = {config['model']['dropout']} needs one rate per hidden layer "
            f"(model.widths has {len(widths)})"
        )
    check_sharing(config)
    _warn_unshared(config, sharing_masks(config))
    for task in config["training"]["loss_weights"]:
        if task not in study_tasks(config):
            raise ConfigError(
                f"training.loss_weights: unknown task {task!r}; tasks of this study: "
                f"{', '.join(study_tasks(config))}"
            )
    _check_split(config)
    _check_replicates(config)
    _check_metric(config)
    _check_hypotheses(config)
    _check_seed_rule(config)


def _check_seed_rule(config: dict[str, Any]) -> None:
    """``seeds``, when a rule: ``max`` at least ``initial`` (:class:`mtrl.stats.seed_rule.SeedRule`)."""
    from mtrl.stats.seed_rule import seed_rule

    try:
        seed_rule(config["seeds"])
    except ValueError as err:
        raise ConfigError(f"{err} (seeds = {config['seeds']})") from None


def study_seeds(config: dict[str, Any]) -> list[int]:
    """The seeds every run of the study starts with: the list, or the rule's initial seeds."""
    from mtrl.stats.seed_rule import seed_rule

    rule = seed_rule(config["seeds"])
    return list(config["seeds"]) if rule is None else rule.initial_seeds


def _check_replicates(config: dict[str, Any]) -> None:
    """``replicates.vary`` holds ``init`` and ``order``, and ``split`` only with ``subset``."""
    try:
        check_vary(config["replicates"]["vary"])
    except ValueError as err:
        raise ConfigError(str(err)) from None


def replicate_parameters(config: dict[str, Any]) -> dict[str, Any]:
    """The ``RunSpec`` fields of ``replicates``: what a seed varies (``vary``, ``split_by``) and
    ``paired_init``, each only where it differs from the plain seed (initial weights and batch
    order alone, unpaired), so that those runs keep their parameters."""
    replicates = config["replicates"]
    fields: dict[str, Any] = {"paired_init": True} if replicates["paired_init"] else {}
    if varies_data(replicates["vary"]):
        fields |= {"vary": list(check_vary(replicates["vary"])), "split_by": config["target"]}
    return fields


def _check_hypotheses(config: dict[str, Any]) -> None:
    """``findings.hypotheses``: kinds, directions, couplings, sharing levels and sizes of the study."""
    from mtrl.stats.hypotheses import parse_hypotheses

    parse_hypotheses(
        config["findings"]["hypotheses"],
        couplings=coupling_names(config),
        sharings=config["sharing"],
        sizes=config["train_sizes"],
    )


def target_kind(config: dict[str, Any]) -> str | None:
    """The target's task kind, when the config declares it (synthetic tasks, ``data.msd.tasks``)."""
    data, target = config["data"], config["target"]
    if data["source"] == "synthetic":
        return data["synthetic"]["tasks"].get(target, {}).get("kind")
    declared = (data["msd"].get("tasks") or {}).get(target)
    return (declared or {}).get("kind")


def _check_metric(config: dict[str, Any]) -> None:
    """``findings.metric`` is ``auto`` or a metric of the target's kind (when the kind is known)."""
    try:
        check_metric_setting(config["findings"]["metric"], target_kind(config))
    except ValueError as err:
        raise ConfigError(str(err)) from None


def task_keys(config: dict[str, Any]) -> dict[str, str]:
    """Every task the study trains or declares (``data.msd.tasks``) -> the first key naming it."""
    keys = {config["target"]: "target"}
    for name, members in configured_couplings(config).items():
        key = "auto_couplings.candidates" if is_auto(config) else f"couplings.{name}"
        for task in members:
            keys.setdefault(task, key)
    if config["data"]["source"] == "msd":
        for task in config["data"]["msd"].get("tasks") or {}:
            keys.setdefault(str(task), "data.msd.tasks")
    return keys


def _check_task_names(config: dict[str, Any]) -> None:
    """Every task name gives a file name (:func:`mtrl.tasks.task_slug`), and no two the same one."""
    keys = task_keys(config)
    for task, key in keys.items():
        try:
            task_slug(task)
        except ValueError as err:
            raise ConfigError(f"{key}: {err}") from None
    clash = slug_clash(keys)
    if clash is not None:
        first, second, slug = clash
        raise ConfigError(
            f"tasks {first!r} ({keys[first]}) and {second!r} ({keys[second]}) share the file name "
            f"{slug!r} (a task name becomes [A-Za-z0-9_]+ in file and layer names); rename one of them"
        )


def _check_split(config: dict[str, Any]) -> None:
    """The split fractions leave a training split, and every training size fits it."""
    split = config["data"]["split"]
    val, test = split["val_fraction"], split["test_fraction"]
    if val + test >= 1:
        raise ConfigError(
            f"data.split: val_fraction {val} + test_fraction {test} = {val + test:g} leaves no training "
            "split; the two must sum to less than 1 (the rest of the rows is the training split)"
        )
    available = training_split_rows(config)
    if available is None:
        return
    if available < 1:
        n_rows = config["data"]["synthetic"]["n_rows"]
        raise ConfigError(
            f"data.split: val_fraction {val} and test_fraction {test} leave no training row of the "
            f"{n_rows} rows (data.synthetic.n_rows); use smaller fractions or more rows"
        )
    for size in config["train_sizes"]:
        if size > available:
            raise ConfigError(
                f"train_sizes: {size} is larger than the training split ({available} rows); "
                f"use sizes of at most {available}"
            )


def _warn_unshared(config: dict[str, Any], masks: dict[str, tuple[bool, ...]]) -> None:
    """Log a warning for each preset under ``sharing`` that shares no layer."""
    for preset in preset_names(config):
        if not any(masks[preset]):
            log.warning(
                "sharing: preset %r = %s shares no layer: its multi-task runs are single-task networks "
                "with a joint loss, not multi-task learning",
                preset,
                [int(v) for v in masks[preset]],
            )


def sharing_masks(config: dict[str, Any]) -> dict[str, tuple[bool, ...]]:
    """The sharing mask of every preset that fits ``model.widths``, by name.

    The study's preset table (built-ins and ``sharing_presets``), read once: each preset named
    under ``sharing`` (the networks of its entries that are not architectures: ``low`` of
    ``low+uw``, :func:`mtrl.sharing.preset_names`) and the single-task baseline's
    (:data:`mtrl.kinds.SINGLE_SHARING`, every layer private) must exist and fit, else
    :class:`ConfigError`. Keys are presets, not entries: a run's mask is its entry's preset's
    (:func:`mtrl.sharing.sharing_parameters`).
    """
    n_layers = len(config["model"]["widths"])
    try:
        masks = resolve_masks([*preset_names(config), SINGLE_SHARING], n_layers, config["sharing_presets"])
    except PresetError as err:
        raise ConfigError(str(err)) from None
    if any(masks[SINGLE_SHARING]):
        raise ConfigError(
            f"sharing_presets.{SINGLE_SHARING} = {[int(v) for v in masks[SINGLE_SHARING]]}: "
            f"{SINGLE_SHARING!r} is the single-task baseline's preset and keeps every layer private "
            "(all entries 0)"
        )
    return masks


def run_parameters(config: dict[str, Any], tasks: list[str]) -> dict[str, Any]:
    """Model and training settings of a run of ``tasks`` (the ``RunSpec`` keyword arguments).

    Loss weights are kept only for the run's own tasks, so that a weight of another task does not
    change (and rerun) this run.
    """
    model, training = config["model"], config["training"]
    return {
        "widths": list(model["widths"]),
        "dropout": list(model["dropout"]),
        "activation": model["activation"],
        "optimizer": training["optimizer"],
        "learning_rate": float(training["learning_rate"]),
        "batch_size": int(training["batch_size"]),
        "max_epochs": int(training["max_epochs"]),
        "patience": int(training["patience"]),
        "monitor": training["monitor"],
        "loss_weights": {t: w for t, w in training["loss_weights"].items() if t in tasks},
        "feature_transform": training["feature_transform"],
        "auxiliary_use_all_labels": bool(training["auxiliary_use_all_labels"]),
        "class_weight": training["class_weight"],
        "threshold": training["threshold"],
        "precision": config["precision"],
        **replicate_parameters(config),
    }
