"""Replicate groups (execution.replicates_per_job): the study's seeds cut into groups, their names,
and a seeds rule's plan rounded up to whole groups."""

import numpy as np
import pandas as pd
import pytest

from mtrl.config import ConfigError, load_config
from mtrl.seed_groups import SeedGroup, replicates_per_job, seed_groups, seed_superset, study_seed_groups
from mtrl.stats.seed_rule import SeedRule, seed_plan, seeds_by_size
from workflow import tiny

RULE = SeedRule(initial=4, max=10, target_halfwidth=0.01, first=1)


def test_groups_are_consecutive_chunks_of_the_ordered_seeds():
    assert [g.seeds for g in seed_groups([1, 2, 3, 4, 5, 6], 4)] == [(1, 2, 3, 4), (5, 6)]
    assert [g.seeds for g in seed_groups([1, 2, 3], 1)] == [(1,), (2,), (3,)]
    assert [g.seeds for g in seed_groups([1, 2, 3], 8)] == [(1, 2, 3)]
    assert [g.seeds for g in seed_groups([7, 3, 10, 1, 2], 2)] == [(7, 3), (10, 1), (2,)]  # the list's order
    with pytest.raises(ValueError, match="at least 1"):
        seed_groups([1, 2], 0)


@pytest.mark.parametrize(
    ("seeds", "rule", "stem", "words"),
    [
        ((1, 2, 3, 4), "seeds1_4", "seeds1-4", "seeds 1-4"),
        ((5,), "seed5", "seed5", "seed 5"),
        ((5, 6), "seeds5_6", "seeds5-6", "seeds 5-6"),
        ((1, 4), "seeds1_and_4", "seeds1_and_4", "seeds 1 and 4"),
        ((1, 3, 7), "seeds1_3_and_7", "seeds1_3_and_7", "seeds 1, 3 and 7"),
        ((4, 3), "seeds4_and_3", "seeds4_and_3", "seeds 4 and 3"),
    ],
)
def test_a_group_names_its_rule_files_and_seeds(seeds, rule, stem, words):
    group = SeedGroup(seeds)
    assert (group.rule_suffix, group.file_stem, group.words, len(group)) == (rule, stem, words, len(seeds))
    assert group.rule_suffix.isidentifier()


def test_the_superset_is_the_list_or_the_rules_max_first_seeds():
    assert seed_superset(load_config(tiny(seeds=[3, 1, 2]))) == [3, 1, 2]
    rule = {"initial": 4, "max": 8, "target_halfwidth": 0.02, "first": 11}
    config = load_config(tiny(seeds=rule, execution={"replicates_per_job": 3}))
    assert seed_superset(config) == list(range(11, 19))
    assert replicates_per_job(config) == 3
    assert [g.seeds for g in study_seed_groups(config)] == [(11, 12, 13), (14, 15, 16), (17, 18)]
    assert replicates_per_job(load_config(tiny())) == 1  # the schema's default


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "execution.replicates_per_job: 0 is less than the minimum of 1; allowed: integer (>= 1)"),
        ("x", "execution.replicates_per_job: 'x' is not of type 'integer'; allowed: integer (>= 1)"),
        (2.5, "execution.replicates_per_job: 2.5 is not of type 'integer'"),
    ],
)
def test_a_bad_replicates_per_job_is_a_one_line_config_error(value, message):
    with pytest.raises(ConfigError) as err:
        load_config(tiny(execution={"replicates_per_job": value}))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("count", "per_job", "rounded"),
    [
        *[(4, 1, 4), (4, 4, 4), (5, 4, 8), (9, 4, 10), (10, 4, 10)],  # 4 per job, max 10
        *[(4, 3, 6), (7, 3, 9), (3, 8, 8), (9, 8, 10), (6, 20, 10)],
    ],
)
def test_a_count_rounds_up_to_whole_groups_within_max(count, per_job, rounded):
    assert RULE.in_whole_groups(count, per_job) == rounded
    # the rounded count always ends a group of the superset's groups (or is the superset)
    ends = np.cumsum([len(g) for g in seed_groups(RULE.all_seeds, per_job)])
    assert rounded in ends


def _gains(values: dict[int, list[float]]) -> pd.DataFrame:
    """One cell per size, its initial gains as given."""
    rows = [("tight", "low", n, seed, v) for n, vs in values.items() for seed, v in enumerate(vs, start=1)]
    return pd.DataFrame(rows, columns=["coupling", "sharing", "n_train", "seed", "gain"])


def test_the_plan_rounds_each_sizes_seeds_up_to_whole_groups_and_says_so():
    # n = 100: sd 0.0183, Stein's total (3.182 * 0.0183 / 0.025)^2 = 5.4 -> 6 seeds; n = 400: precise
    rule = SeedRule(initial=4, max=10, target_halfwidth=0.025, first=1)
    gains = _gains({100: [0.02, -0.01, 0.03, 0.0], 400: [0.01, 0.01, 0.01, 0.0101]})
    plain = seed_plan(gains, rule, [100, 400, 1600], 0.95)
    grouped = seed_plan(gains, rule, [100, 400, 1600], 0.95, per_job=4)
    # the decision (what each cell needs) does not change, only the seeds its size gets
    kept = [c for c in plain.columns if c not in ("seeds", "reason")]
    pd.testing.assert_frame_equal(plain[kept], grouped[kept])
    assert plain["seeds"].tolist() == [6, 4, 4] and grouped["seeds"].tolist() == [8, 4, 4]
    assert grouped["reason"][0] == (
        plain["reason"][0] + "; 8 with whole groups of 4 seeds per job (execution.replicates_per_job)"
    )
    assert grouped["reason"][1:].tolist() == plain["reason"][1:].tolist()  # 4 initial seeds: one group
    assert seeds_by_size(grouped, rule) == {100: list(range(1, 9)), 400: [1, 2, 3, 4], 1600: [1, 2, 3, 4]}
    # with 3 per job the 4 initial seeds are two groups: 6 seeds where the initial ones suffice
    by3 = seed_plan(gains, rule, [100, 400, 1600], 0.95, per_job=3)
    assert by3["seeds"].tolist() == [6, 6, 6]
    assert "whole groups" not in by3["reason"][0] and "; 6 with whole groups of 3" in by3["reason"][1]
