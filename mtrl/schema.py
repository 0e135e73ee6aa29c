"""The study configuration's JSON schema (``schemas/config.schema.yaml``): the one place that
holds every config key's type, allowed values and default."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


@functools.cache
def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """The parsed schema (read once per process; LibYAML's parser where installed: 10x faster)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=loader)


def allowed_values(*keys: str) -> tuple[Any, ...]:
    """The ``enum`` of the config key at ``keys`` (e.g. ``allowed_values("precision")``)."""
    node = load_schema()
    for key in keys:
        node = node["properties"][key]
    return tuple(node["enum"])


def default_value(*keys: str) -> Any:
    """The schema's ``default`` of the config key at ``keys``."""
    node = load_schema()
    for key in keys:
        node = node["properties"][key]
    return node["default"]
