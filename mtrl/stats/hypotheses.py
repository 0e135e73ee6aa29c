"""Confirmatory hypotheses: their declaration in the config and the replicate values each one tests.

The config declares a small family of effects before any data are seen (``findings.hypotheses``),
each a mapping with a ``name``, a ``kind`` and, but for the interaction, an expected ``direction``:

- ``gain``: the multi-task gain of one ``coupling`` at one training size (``n_train``: ``smallest``,
  ``largest`` or a size of the study), pooled over its sharing levels (all, or those listed in
  ``sharing``): per replicate, the mean gain over those levels;
- ``coupling_contrast``: the pooled gain of ``couplings[0]`` minus that of ``couplings[1]`` at one
  size, paired by replicate;
- ``size_slope``: the slope of the gain in log(n_train), averaged over couplings and sharing levels
  (from the grid model, :mod:`mtrl.stats.grid_model`);
- ``interaction``: the coupling x sharing interaction (grid model; no direction);
- ``baseline``: the target's primary metric minus its trivial baseline's (the majority class, an
  ROC-AUC of 0.5, the training mean), sign-adjusted so that positive = the model beats it, for the
  single-task runs (``coupling: single``) or one coupling's multi-task runs (pooled over sharing
  levels as a gain) at one size: does the network learn anything at all?
- ``any_gain``: some cell of the grid (coupling x sharing x size) gains: the smallest
  Holm-adjusted p over the cells' tests in the stated direction (a min-p test of the global null),
  equivalent when every cell is (intersection-union of their TOSTs).

``direction`` is ``greater`` (positive: multi-task better, the first coupling better, the gain
growing with size), ``less`` or ``two-sided`` (the default). ``margin`` overrides the metric's
equivalence margin for one hypothesis. :func:`parse_hypotheses` checks all this and raises
:class:`~mtrl.errors.ConfigError` naming the hypothesis and the key; :func:`replicate_values` gives
the values a ``gain`` or ``coupling_contrast`` hypothesis tests. The tests and verdicts are
:mod:`mtrl.stats.confirmatory`'s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # the declarations are checked with the config, before pandas is needed
    import pandas as pd

from mtrl.errors import ConfigError
from mtrl.kinds import SINGLE_COUPLING

GAIN = "gain"
COUPLING_CONTRAST = "coupling_contrast"
SIZE_SLOPE = "size_slope"
INTERACTION = "interaction"
BASELINE = "baseline"
ANY_GAIN = "any_gain"
KINDS = (GAIN, COUPLING_CONTRAST, SIZE_SLOPE, INTERACTION, BASELINE, ANY_GAIN)
# tested over replicates (a baseline on the model-minus-baseline margins); the grid model tests the
# slope and the interaction, and any_gain combines the per-cell tests
REPLICATE_KINDS = (GAIN, COUPLING_CONTRAST, BASELINE)
# what a confirmatory verdict counts as a difference (findings.verdict_rule; mtrl.stats.confirmatory)
MARGIN_RULE = "margin"  # one beyond +/- the equivalence margin (a minimum-effect test)
ZERO_RULE = "zero"  # any difference from 0 (a point-null test)
VERDICT_RULES = (MARGIN_RULE, ZERO_RULE)

GREATER = "greater"
LESS = "less"
TWO_SIDED = "two-sided"
DIRECTIONS = (GREATER, LESS, TWO_SIDED)

SMALLEST = "smallest"
LARGEST = "largest"

_COMMON_KEYS = {"name", "kind", "direction", "margin"}
_KIND_KEYS = {
    GAIN: {"coupling", "n_train", "sharing"},
    COUPLING_CONTRAST: {"couplings", "n_train", "sharing"},
    SIZE_SLOPE: set(),
    INTERACTION: set(),
    BASELINE: {"coupling", "n_train", "sharing"},
    ANY_GAIN: set(),
}


@dataclass(frozen=True)
class Hypothesis:
    """One confirmatory hypothesis as declared (see the module for the kinds and keys)."""

    name: str
    kind: str
    direction: str = TWO_SIDED
    couplings: tuple[str, ...] = ()  # gain: one; coupling_contrast: first minus second
    n_train: str | int | None = None  # smallest, largest or a size; None for the grid-model kinds
    sharing: tuple[str, ...] = ()  # the sharing levels pooled; empty: all
    margin: float | None = None  # equivalence margin overriding the metric's

    @property
    def directional(self) -> bool:
        return self.direction != TWO_SIDED


class _Checker:
    """Raises :class:`ConfigError` with the hypothesis's place and name in front of the message."""

    def __init__(self, key: str, index: int, name: object = None):
        self.where = f"{key}[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")

    def fail(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.where}: {message}")


def _names(checker: _Checker, value: Any, key: str, count: int | None = None) -> tuple[str, ...]:
    """One name (``count`` 1) or a list of distinct names (``count`` of them when given)."""
    if count == 1:
        if not isinstance(value, str) or not value:
            checker.fail(f"{key} must be a name, got {value!r}")
        return (value,)
    items = [value] if isinstance(value, str) else value
    ok = isinstance(items, list | tuple) and all(isinstance(v, str) and v for v in items)
    if not ok or not items or len(set(items)) != len(items) or (count is not None and len(items) != count):
        wanted = f"a list of {count} different names" if count else "a name or a list of different names"
        checker.fail(f"{key} must be {wanted}, got {value!r}")
    return tuple(items)


def _size(checker: _Checker, value: Any, sizes: Sequence[int] | None) -> str | int:
    if value in (SMALLEST, LARGEST):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        checker.fail(f"n_train must be {SMALLEST!r}, {LARGEST!r} or a training size, got {value!r}")
    if sizes is not None and value not in sizes:
        checker.fail(f"n_train {value} is not a training size of the study ({', '.join(map(str, sizes))})")
    return value


def _known(checker: _Checker, values: Iterable[str], known: Sequence[str] | None, key: str) -> None:
    for value in values:
        if known is not None and value not in known:
            checker.fail(f"{key}: unknown {value!r}; the study has {', '.join(map(str, known))}")


def _direction(checker: _Checker, entry: Mapping[str, Any], kind: str) -> str:
    direction = entry.get("direction", TWO_SIDED)
    if direction not in DIRECTIONS:
        checker.fail(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if kind == INTERACTION and direction != TWO_SIDED:
        checker.fail(f"an {INTERACTION} has no direction, got {direction!r}")
    return direction


def _margin(checker: _Checker, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        checker.fail(f"margin must be a positive number, got {value!r}")
    return float(value)


def parse_hypothesis(
    entry: Any,
    index: int,
    key: str = "findings.hypotheses",
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
) -> Hypothesis:
    """One declared hypothesis, checked; ``couplings``, ``sharings`` and ``sizes`` of the study if given."""
    name = entry.get("name") if isinstance(entry, Mapping) else None
    checker = _Checker(key, index, name)
    if not isinstance(entry, Mapping):
        checker.fail(f"expected a mapping with name and kind, got {entry!r}")
    if not isinstance(name, str) or not name:
        checker.fail(f"name must be a non-empty string, got {name!r}")
    kind = entry.get("kind")
    if kind not in KINDS:
        checker.fail(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(entry) - _COMMON_KEYS - _KIND_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_COMMON_KEYS | _KIND_KEYS[kind]))
        checker.fail(f"unknown key(s) {', '.join(unknown)} for kind {kind} (allowed: {allowed})")
    found: dict[str, Any] = {}
    if kind in REPLICATE_KINDS:
        field = "couplings" if kind == COUPLING_CONTRAST else "coupling"
        if field not in entry:
            checker.fail(f"{field} is required for kind {kind}")
        found["couplings"] = _names(checker, entry[field], field, 2 if kind == COUPLING_CONTRAST else 1)
        known = [*couplings, SINGLE_COUPLING] if kind == BASELINE and couplings is not None else couplings
        _known(checker, found["couplings"], known, field)
        found["n_train"] = _size(checker, entry.get("n_train", SMALLEST), sizes)
        if entry.get("sharing") is not None:
            found["sharing"] = _names(checker, entry["sharing"], "sharing")
            _known(checker, found["sharing"], sharings, "sharing")
    direction = _direction(checker, entry, kind)
    return Hypothesis(name, kind, direction, margin=_margin(checker, entry.get("margin")), **found)


def parse_hypotheses(
    entries: Any,
    key: str = "findings.hypotheses",
    couplings: Sequence[str] | None = None,
    sharings: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
) -> list[Hypothesis]:
    """The declared family (a list of mappings, see the module), checked; names must be unique.

    :raises ConfigError: naming the hypothesis (its index and name) and the key that cannot work.
    """
    if entries is None:
        return []
    if not isinstance(entries, list | tuple):
        raise ConfigError(f"{key}: expected a list of hypotheses, got {entries!r}")
    family = [parse_hypothesis(e, i, key, couplings, sharings, sizes) for i, e in enumerate(entries)]
    seen: set[str] = set()
    for index, hypothesis in enumerate(family):
        if hypothesis.name in seen:
            _Checker(key, index, hypothesis.name).fail("name already used by another hypothesis")
        seen.add(hypothesis.name)
    return family


def resolve_size(gains: pd.DataFrame, hypothesis: Hypothesis) -> int | None:
    """The training size a ``gain`` or ``coupling_contrast`` hypothesis means, None if there is none.

    ``smallest`` and ``largest`` are taken over the sizes every coupling of the hypothesis has.
    """
    sizes = None
    for coupling in hypothesis.couplings:
        have = set(gains.loc[gains["coupling"] == coupling, "n_train"].astype(int))
        sizes = have if sizes is None else sizes & have
    if not sizes:
        return None
    if hypothesis.n_train in (None, SMALLEST):
        return min(sizes)
    if hypothesis.n_train == LARGEST:
        return max(sizes)
    return int(hypothesis.n_train) if int(hypothesis.n_train) in sizes else None


def pooled_gains(gains: pd.DataFrame, coupling: str, n_train: int, sharing: Sequence[str] = ()) -> pd.Series:
    """Per replicate (``seed``): the mean gain over the sharing levels of ``coupling`` at ``n_train``.

    ``sharing`` restricts the levels (empty: all the coupling has at that size). Only replicates
    with a finite gain at every level count (complete cases), so each one averages the same levels.
    """
    rows = gains[(gains["coupling"] == coupling) & (gains["n_train"] == n_train)]
    if sharing:
        rows = rows[rows["sharing"].isin(sharing)]
    wide = rows.groupby(["seed", "sharing"])["gain"].mean().unstack("sharing")
    return wide.dropna().mean(axis=1).rename("value")


def replicate_values(gains: pd.DataFrame, hypothesis: Hypothesis) -> tuple[pd.Series, int | None]:
    """The values a ``gain`` or ``coupling_contrast`` hypothesis tests, by replicate, and its size.

    A gain: :func:`pooled_gains`; a contrast: the first coupling's pooled gain minus the second's,
    over the replicates both have. Empty where the hypothesis's size is not in ``gains``.
    """
    if hypothesis.kind not in REPLICATE_KINDS:
        raise ValueError(f"{hypothesis.name}: a {hypothesis.kind} hypothesis has no replicate values")
    n_train = resolve_size(gains, hypothesis)
    if n_train is None:
        import pandas as pd

        return pd.Series(dtype=float, name="value"), None
    pooled = [pooled_gains(gains, c, n_train, hypothesis.sharing) for c in hypothesis.couplings]
    if hypothesis.kind in (GAIN, BASELINE):
        return pooled[0], n_train
    first, second = pooled[0].align(pooled[1], join="inner")
    return (first - second).rename("value"), n_train
