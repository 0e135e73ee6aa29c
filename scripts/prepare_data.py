"""Snakemake script of rule prepare_data: build the prepared-data file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.data.plan import auxiliary_from_target_rows
from mtrl.logs import logged_to
from mtrl.prepare import prepare_data

with logged_to(snakemake.log[0]):
    prepare_data(
        data_config=snakemake.params.data,
        tasks=snakemake.params.tasks,
        target=snakemake.params.target,
        # sizes and couplings are checked here, but are not tracked params: adding a size must not
        # rebuild the data (and rerun every training run)
        train_sizes=snakemake.config["train_sizes"],
        output=snakemake.output.data,
        auxiliary_from_target_rows=auxiliary_from_target_rows(snakemake.config),
    )
