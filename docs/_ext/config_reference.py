"""The configuration reference, rendered from ``schemas/config.schema.yaml`` when the docs are built.

``.. mtrl-config-reference:: ../schemas/config.schema.yaml`` turns every key of the JSON schema into a
``confval`` entry (dotted name, description, type, whether it is required, allowed values, default);
nested keys become nested entries, so the page cannot drift from the schema. ``<name>`` stands for a
key the user chooses (a mapping's entry), ``[]`` for each item of a list. A schema keyword the
renderer does not know is shown verbatim under "Other rules" rather than dropped.

``python docs/_ext/config_reference.py schemas/config.schema.yaml`` prints the generated rst.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from docutils.nodes import Node
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

Schema = dict[str, Any]

PLACEHOLDER = "<name>"
INDENT = "   "
# keywords rendered as type, constraint, nesting, requirement or text; anything else is "Other rules"
_KNOWN = """
$schema description type default enum const oneOf anyOf properties additionalProperties required
propertyNames items minItems maxItems uniqueItems minProperties maxProperties minLength maxLength
pattern minimum maximum exclusiveMinimum exclusiveMaximum not if then allOf
"""
KNOWN_KEYWORDS = frozenset(_KNOWN.split())
_CODE_SPAN = re.compile(r"`([^`]+)`")
_RST_SPECIAL = re.compile(r"([\\*_|`\[\]])")


def load_schema(path: Path) -> Schema:
    """The schema file, parsed (YAML anchors resolved)."""
    return yaml.safe_load(path.read_text())


def render(schema: Schema) -> str:
    """The reference as reStructuredText: an introduction, then one ``confval`` per key."""
    lines = [
        "Generated from ``schemas/config.schema.yaml`` when this documentation is built; the study's",
        "configuration (``config.yaml``, ``configs/*.yaml``) is validated against that schema.",
        "",
    ]
    if "description" in schema:
        lines += [f"Schema: {text(schema['description'])}.", ""]
    lines += [
        f"``{PLACEHOLDER}`` in a key stands for a name of your choice (an entry of a mapping), ``[]`` for",
        "each item of a list.",
        "",
    ]
    lines += _entries(schema, prefix="", depth=0)
    return "\n".join(lines) + "\n"


def text(description: str) -> str:
    """Plain schema text as inline rst: `code` spans become literals, markup characters are escaped."""
    parts = _CODE_SPAN.split(" ".join(description.split()))
    return "".join(
        f"``{part}``" if index % 2 else _RST_SPECIAL.sub(r"\\\1", part) for index, part in enumerate(parts)
    )


def _entries(node: Schema, prefix: str, depth: int) -> list[str]:
    """The ``confval`` entries of an object schema's properties, and of a mapping's or list's items."""
    properties = node.get("properties", {})
    requirements = _requirements(node, prefix)
    lines: list[str] = []
    for key, child in properties.items():
        name = f"{prefix}{key}"
        lines += _entry(name, child, requirements.get(key, "no"), depth)
    values = node.get("additionalProperties")
    if isinstance(values, dict) and "properties" in values:
        lines += _entries(values, f"{prefix}{PLACEHOLDER}.", depth)
    return lines


def _entry(name: str, node: Schema, required: str, depth: int) -> list[str]:
    """One key: its directive, description, field list, then its nested keys indented under it."""
    pad = INDENT * depth
    body = pad + INDENT
    lines = [f"{pad}.. confval:: {name}", ""]
    if "description" in node:
        lines += [body + text(node["description"]), ""]
    lines += [f"{body}:{field}: {value}" for field, value in _fields(node, required)]
    lines.append("")
    nested = _nested(node)
    if nested is not None:
        lines += _entries(nested[1], f"{name}{nested[0]}", depth + 1)
    return lines


def _nested(node: Schema) -> tuple[str, Schema] | None:
    """(separator, schema) of the keys nested in ``node``: an object's, a mapping's or a list item's."""
    if "properties" in node:
        return ".", node
    values = node.get("additionalProperties")
    if isinstance(values, dict) and "properties" in values:
        return f".{PLACEHOLDER}.", values
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        return "[].", items
    return None


def _fields(node: Schema, required: str) -> Iterator[tuple[str, str]]:
    yield "Type", type_of(node)
    yield "Required", required
    allowed = constraints(node)
    if allowed:
        yield "Allowed", "; ".join(allowed)
    if "default" in node:
        yield "Default", literal(node["default"])
    other = {key: value for key, value in node.items() if key not in KNOWN_KEYWORDS}
    if other:
        yield "Other rules", literal(other)


def literal(value: Any) -> str:
    """A value as an inline literal, written as in YAML: strings bare, the rest as JSON."""
    shown = value if isinstance(value, str) and value.strip() == value != "" else json.dumps(value)
    return f"``{shown}``"


def type_of(node: Schema) -> str:
    """The type in words: ``array of integer``, ``mapping of <name> to array of string``..."""
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives:
        return " or ".join(type_of(alternative) for alternative in alternatives)
    if "const" in node:
        return literal(node["const"])
    types = node.get("type")
    if types is None and "enum" in node:
        types = sorted({_json_type(value) for value in node["enum"]})
    if types is None:
        return "any"
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_one_type(name, node) for name in names)


def _one_type(name: str, node: Schema) -> str:
    if name == "array" and isinstance(node.get("items"), dict):
        return f"array of {type_of(node['items'])}"
    values = node.get("additionalProperties")
    if name == "object" and isinstance(values, dict) and "properties" not in node:
        return f"mapping of ``{PLACEHOLDER}`` to {type_of(values)}"
    return name


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null" if value is None else "string"


def constraints(node: Schema) -> list[str]:
    """The allowed values of ``node`` in words (enum, range, pattern, sizes), its items' and keys' too."""
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives:
        return [
            f"{type_of(alternative)}: {', '.join(constraints(alternative))}"
            for alternative in alternatives
            if constraints(alternative)
        ]
    found = []
    if "enum" in node:
        found.append("one of " + ", ".join(literal(value) for value in node["enum"]))
    if "not" in node:
        excluded = node["not"]
        found.append(
            f"not {literal(excluded['const'])}" if set(excluded) == {"const"} else f"not {literal(excluded)}"
        )
    found += _range(node) + _sizes(node)
    if "pattern" in node:
        found.append(f"matches ``{node['pattern']}``")
    if isinstance(node.get("propertyNames"), dict) and constraints(node["propertyNames"]):
        found.append("keys: " + ", ".join(constraints(node["propertyNames"])))
    for keyword, label in (("items", "items"), ("additionalProperties", "values")):
        part = node.get(keyword)
        if isinstance(part, dict) and "properties" not in part and constraints(part):
            found.append(f"{label}: " + ", ".join(constraints(part)))
    return found


_LOWER = (("minimum", "≥"), ("exclusiveMinimum", ">"))
_UPPER = (("maximum", "≤"), ("exclusiveMaximum", "<"))


def _range(node: Schema) -> list[str]:
    """Bounds as "≥ 1", "< 1" or, with both, "0 < value ≤ 1"."""
    lower = [(sign, node[keyword]) for keyword, sign in _LOWER if keyword in node]
    upper = [(sign, node[keyword]) for keyword, sign in _UPPER if keyword in node]
    if lower and upper:
        (low_sign, low), (high_sign, high) = lower[0], upper[0]
        return [f"{low} {'≤' if low_sign == '≥' else '<'} value {high_sign} {high}"]
    return [f"{sign} {value}" for sign, value in lower + upper]


_SIZES = (  # (minimum keyword, maximum keyword, what is counted)
    ("minItems", "maxItems", "item"),
    ("minProperties", "maxProperties", "entry"),
    ("minLength", "maxLength", "character"),
)


def _sizes(node: Schema) -> list[str]:
    """Sizes as "at least 2 items", "exactly 1 character", "no duplicates"."""
    found = []
    for low_keyword, high_keyword, unit in _SIZES:
        low, high = node.get(low_keyword), node.get(high_keyword)
        if low is not None and low == high:
            found.append(f"exactly {_count(low, unit)}")
            continue
        found += [f"at least {_count(low, unit)}"] if low is not None else []
        found += [f"at most {_count(high, unit)}"] if high is not None else []
    if node.get("uniqueItems"):
        found.append("no duplicates")
    return found


def _count(number: int, unit: str) -> str:
    plural = unit if number == 1 else ("entries" if unit == "entry" else f"{unit}s")
    return f"{number} {plural}"


def _requirements(node: Schema, prefix: str) -> dict[str, str]:
    """key -> "yes" or "when ``x`` is ``v``", from ``required`` and ``if``/``then`` (also in ``allOf``)."""
    found = {key: "yes" for key in node.get("required", [])}
    rules = [node, *node.get("allOf", [])]
    for rule in rules:
        if "if" not in rule:
            continue
        condition = _condition(rule["if"], prefix)
        for key in rule.get("then", {}).get("required", []):
            found.setdefault(key, f"when {condition}")
    return found


def _condition(rule: Schema, prefix: str) -> str:
    """``{properties: {x: {const: v}}}`` as "``x`` is ``v``"; other conditions verbatim."""
    properties = rule.get("properties", {})
    if set(rule) == {"properties"} and all(set(test) == {"const"} for test in properties.values()):
        return " and ".join(
            f"``{prefix}{key}`` is {literal(test['const'])}" for key, test in properties.items()
        )
    return literal(rule)


class ConfigReference(SphinxDirective):
    """``.. mtrl-config-reference:: <schema path, relative to this document>``."""

    required_arguments = 1

    def run(self) -> list[Node]:
        relative, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(relative)  # the page is rebuilt when the schema changes
        return self.parse_text_to_nodes(render(load_schema(Path(path))))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("mtrl-config-reference", ConfigReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.stdout.write(render(load_schema(Path(sys.argv[1]))))
