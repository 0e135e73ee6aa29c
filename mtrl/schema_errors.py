"""A JSON-schema error of the study config as one short message: the key, the value, what is allowed.

jsonschema's own text says "is not valid under any of the given schemas" for a ``oneOf`` and its
full report prints the whole schema. :func:`explain` writes ``key: what is wrong; allowed: ...``
instead, every word taken from the failing subschema (:func:`describe`), so the schema stays the
one place of the rules: for ``oneOf``/``anyOf`` the alternatives, for an unknown key the allowed
keys (and where a key of that name belongs), for ``enum``, ``pattern``, ``minimum``... the rule.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

Schema = dict[str, Any]

_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 60, 60, 6, 4, 3

_TYPE_WORDS = {"array": "list", "object": "mapping", "number": "number", "integer": "integer"}
_BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"))
_SIZES = (
    ("minItems", "at least", "item"),
    ("maxItems", "at most", "item"),
    ("minProperties", "at least", "entry"),
    ("maxProperties", "at most", "entry"),
    ("minLength", "at least", "character"),
    ("maxLength", "at most", "character"),
)


#: Schema keywords this module puts into words (tests check the schema uses no other).
DESCRIBED_KEYWORDS = frozenset(
    {"$schema", "type", "default", "description", "enum", "const", "oneOf", "anyOf", "not", "pattern"}
    | {"properties", "additionalProperties", "propertyNames", "items", "required", "uniqueItems"}
    | {"if", "then", "allOf"}  # their errors are those of the keywords inside
    | {key for key, _ in _BOUNDS}
    | {key for key, _, _ in _SIZES}
)
# validators whose message is followed by the whole rule of the key
_SHOWS_ALLOWED = frozenset({"type", *(key for key, _ in _BOUNDS)})


def short(value: Any) -> str:
    """``repr(value)``, cut to a line (long lists and mappings end in ``...``)."""
    return _SHORT.repr(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {'entries' if word == 'entry' else word + 's'}"


def describe(schema: Schema) -> str:
    """What ``schema`` allows, in words: ``list of integer (at least 1 item; no repeats; items: >= 1)``."""
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return " or ".join(describe(alternative) for alternative in alternatives)
    rules = constraints(schema)
    kind = type_words(schema)
    if kind is None:
        return "; ".join(rules) or "any value"
    return f"{kind} ({'; '.join(rules)})" if rules else kind


def type_words(schema: Schema) -> str | None:
    """The type of ``schema`` in words (``list of string``, ``mapping of <name> to number``...)."""
    if "const" in schema:
        return short(schema["const"])
    types = schema.get("type")
    if types is None:
        return None
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_one_type(name, schema) for name in names)


def _one_type(name: str, schema: Schema) -> str:
    items, values = schema.get("items"), schema.get("additionalProperties")
    if name == "array" and isinstance(items, dict):
        return f"list of {type_words(items) or 'any value'}"
    if name == "object" and "properties" in schema:
        return "mapping with keys " + ", ".join(schema["properties"])
    if name == "object" and isinstance(values, dict):
        return f"mapping of <name> to {type_words(values) or 'any value'}"
    return _TYPE_WORDS.get(name, name)


def constraints(schema: Schema) -> list[str]:
    """The rules of ``schema`` beyond its type: allowed values, range, sizes, pattern, names, items."""
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(short(value) for value in schema["enum"]))
    if "not" in schema:
        found.append(f"not {describe(schema['not'])}")
    found += [f"{sign} {schema[key]}" for key, sign in _BOUNDS if key in schema]
    found += [f"{bound} {_plural(schema[key], unit)}" for key, bound, unit in _SIZES if key in schema]
    if schema.get("uniqueItems"):
        found.append("no repeats")
    if "pattern" in schema:
        found.append(f"matching {schema['pattern']}")
    for keyword, label in (
        ("propertyNames", "names"),
        ("items", "items"),
        ("additionalProperties", "values"),
    ):
        part = schema.get(keyword)
        if isinstance(part, dict) and "properties" not in part and constraints(part):
            found.append(f"{label}: {', '.join(constraints(part))}")
    return found


def key_of(error: ValidationError) -> str:
    """The dotted config key of ``error`` (``couplings.tight``, ``train_sizes.0``; ``config`` at the top)."""
    return ".".join(str(part) for part in error.absolute_path) or "config"


def outermost(error: ValidationError) -> ValidationError:
    """The error of the value the user wrote (``best_match`` may return one inside a ``oneOf``)."""
    while error.parent is not None:
        error = error.parent
    return error


def explain(error: ValidationError, root: Schema | None = None) -> str:
    """``key: what is wrong; allowed: ...`` for a schema error (``root``: the whole schema, to point
    an unknown key to where a key of that name belongs)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        closest = _closest_alternative(error)
        if closest is not None and len(closest.absolute_path) > len(error.absolute_path):
            return explain(closest, root)  # the value is of one alternative, wrong further in
        reason = (
            _reason(closest, root) if closest is not None else f"{short(error.instance)} is none of these"
        )
        return f"{key_of(error)}: {reason}; allowed: {describe(error.schema)}"
    message = f"{key_of(error)}: {_reason(error, root)}"
    if error.validator in _SHOWS_ALLOWED and describe(error.schema) != type_words(error.schema):
        message += f"; allowed: {describe(error.schema)}"
    return message


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list, tuple),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _same_type(schema: Schema, value: Any) -> bool:
    """Whether ``value`` has the type ``schema`` asks for (a ``const``'s type, for a const)."""
    if "const" in schema:
        return type(schema["const"]) is type(value)
    types = schema.get("type")
    if types is None:
        return False
    return any(
        isinstance(value, _PYTHON_TYPES[t]) and (t == "boolean" or not isinstance(value, bool))
        for t in _listed(types)
    )


def _closest_alternative(error: ValidationError) -> ValidationError | None:
    """The most telling failure of the first alternative whose type the value has, if any."""
    alternatives = error.validator_value
    for index, alternative in enumerate(alternatives):
        if _same_type(alternative, error.instance):
            failures = [e for e in error.context if e.relative_schema_path[0] == index]
            if failures:
                return best_match(failures)
    return None


def _reason(error: ValidationError, root: Schema | None) -> str:
    """What is wrong with the value, in one clause (a mapping's key is marked ``as a name``)."""
    clause = _clause(error, root)
    return f"{clause} (as a name)" if "propertyNames" in error.relative_schema_path else clause


def _clause(error: ValidationError, root: Schema | None) -> str:
    """jsonschema's wording where it names the value and the rule (a long value cut to a line)."""
    kind, rule, value = error.validator, error.validator_value, error.instance
    shown = short(value)
    if kind == "additionalProperties":
        return _unknown_keys(error, root)
    if kind == "type":
        return f"{shown} is not of type {', '.join(repr(t) for t in _listed(rule))}"
    if kind == "enum":
        return f"{shown} is not one of {list(rule)!r}"
    if kind == "const":
        return f"{shown} is not {short(rule)}"
    if kind == "pattern":
        return f"{shown} does not match {rule!r}"
    if kind == "not":
        return f"{shown} is not allowed here"
    if kind == "uniqueItems":
        return f"{shown} repeats {short(_first_repeat(value))}"
    for key, bound, unit in _SIZES:
        if kind == key:
            needed = "needed" if bound == "at least" else "allowed"
            return f"{shown} has {_plural(len(value), unit)}, {bound} {rule} {needed}"
    return error.message if len(error.message) <= 200 else error.message[:200] + "..."


def _listed(rule: str | list[str]) -> list[str]:
    return [rule] if isinstance(rule, str) else list(rule)


def _first_repeat(values: list[Any]) -> Any:
    for index, value in enumerate(values):
        if value in values[:index]:
            return value
    return None


def _unknown_keys(error: ValidationError, root: Schema | None) -> str:
    """``unknown key 'x'; allowed keys: ...`` and, if a key of that name exists elsewhere, where."""
    allowed = list(error.schema.get("properties", {}))
    unknown = [key for key in error.instance if key not in allowed]
    text = f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(short(k) for k in unknown)}; "
    text += f"allowed keys: {', '.join(allowed)}" if allowed else "no keys allowed here"
    hints = []
    for key in unknown:
        places = [path for path in _key_paths(root or {}) if path.rsplit(".", 1)[-1] == key]
        depth = min((path.count(".") for path in places), default=0)
        # the shallowest places only: `learning_rate` means training.learning_rate, not a
        # method's weightings.famo.learning_rate
        places = [path for path in places if path.count(".") == depth]
        hints += places or difflib.get_close_matches(str(key), allowed, n=1)
    return text + (f" (did you mean {' or '.join(hints)}?)" if hints else "")


def _key_paths(schema: Schema, prefix: str = "") -> Iterator[str]:
    """Every dotted key path the schema names (mappings' entries as ``<name>``)."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{prefix}{name}"
        yield from _key_paths(sub, f"{prefix}{name}.")
    values = schema.get("additionalProperties")
    if isinstance(values, dict):
        yield from _key_paths(values, f"{prefix}<name>.")
