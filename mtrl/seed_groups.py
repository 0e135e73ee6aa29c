"""Replicate groups: the seeds one training job trains (``execution.replicates_per_job``).

The seeds of a study are known when the workflow is parsed, as a superset: a list of seeds, or a
seeds rule's ``first, ..., first + max - 1`` (checkpoint plan_seeds later picks how many of them
each training size gets, :mod:`mtrl.stats.seed_rule`, rounded up to whole groups). With
``replicates_per_job`` R above 1, :func:`seed_groups` cuts that ordered superset into consecutive
groups of R seeds (the last may be shorter), and ``rules/train.smk`` makes one training rule per
group: its job trains the group's runs of one cell in one program and writes each run's usual
folder. A :class:`SeedGroup` names its rule, log and benchmark and says in words what it trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mtrl.stats.seed_rule import seed_rule


@dataclass(frozen=True)
class SeedGroup:
    """The seeds of one group, in the study's order."""

    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"a replicate group needs distinct seeds, got {list(self.seeds)}")

    def __len__(self) -> int:
        return len(self.seeds)

    @property
    def is_range(self) -> bool:
        """Two or more consecutive seeds in ascending order (``1, 2, 3, 4``)."""
        first = self.seeds[0]
        return len(self.seeds) > 1 and self.seeds == tuple(range(first, first + len(self.seeds)))

    def _joined(self, range_sep: str) -> str:
        if len(self.seeds) == 1:
            return f"seed{self.seeds[0]}"
        if self.is_range:
            return f"seeds{self.seeds[0]}{range_sep}{self.seeds[-1]}"
        *head, last = self.seeds
        return f"seeds{'_'.join(map(str, head))}_and_{last}"

    @property
    def rule_suffix(self) -> str:
        """``seed5``, ``seeds1_4`` (1 to 4), ``seeds1_3_and_7``: the end of the group's rule names."""
        return self._joined("_")

    @property
    def file_stem(self) -> str:
        """``seed5``, ``seeds1-4``, ``seeds1_3_and_7``: the name of the group's log and benchmark."""
        return self._joined("-")

    @property
    def words(self) -> str:
        """``seed 5``, ``seeds 1-4``, ``seeds 1, 3 and 7``."""
        if len(self.seeds) == 1:
            return f"seed {self.seeds[0]}"
        if self.is_range:
            return f"seeds {self.seeds[0]}-{self.seeds[-1]}"
        *head, last = self.seeds
        return f"seeds {', '.join(map(str, head))} and {last}"


def seed_groups(seeds: Sequence[int], per_job: int) -> list[SeedGroup]:
    """``seeds`` (in their order) cut into consecutive groups of ``per_job``; the last may be shorter."""
    if per_job < 1:
        raise ValueError(f"replicates_per_job must be at least 1, got {per_job}")
    seeds = [int(s) for s in seeds]
    return [SeedGroup(tuple(seeds[i : i + per_job])) for i in range(0, len(seeds), per_job)]


def replicates_per_job(config: dict[str, Any]) -> int:
    """``execution.replicates_per_job`` of a defaulted config."""
    return int(config["execution"]["replicates_per_job"])


def seed_superset(config: dict[str, Any]) -> list[int]:
    """Every seed a run of the study may get, in order: the list, or a seeds rule's ``max`` first."""
    rule = seed_rule(config["seeds"])
    return list(config["seeds"]) if rule is None else rule.all_seeds


def study_seed_groups(config: dict[str, Any]) -> list[SeedGroup]:
    """The study's seed superset in groups of ``execution.replicates_per_job``."""
    return seed_groups(seed_superset(config), replicates_per_job(config))
