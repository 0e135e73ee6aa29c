"""mtrl: when does multi-task deep learning help?

Expands task coupling x sharing level x training size x seed into one Keras training job per run
(or per group of a cell's seeds, execution.replicates_per_job),
plus single-task baselines, and aggregates them into tables, figures and a report.
"""

from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default study; `--configfile other.yaml` replaces it (not merged into it), so
# a config in configs/ is complete on its own. `--config key=value` overrides single keys.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"


# The front page: the workflow description plus the findings once the findings rule wrote them.
report: front_page()


include: "rules/download.smk"
include: "rules/data.smk"
include: "rules/numerics.smk"


# one training job per run, or (execution.replicates_per_job > 1) per group of a cell's seeds
if REPLICATES_PER_JOB == 1:

    include: "rules/train.smk"

else:

    include: "rules/train_groups.smk"


include: "rules/seeds.smk"
include: "rules/aggregate.smk"
include: "rules/plots.smk"
include: "rules/findings.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
