"""Snakemake script of rule choose_couplings (couplings: auto): tight and loose sets from the data."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import logging  # noqa: E402

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from mtrl.couplings import choose_couplings  # noqa: E402
from mtrl.io import atomic_path  # noqa: E402
from mtrl.logs import logged_to  # noqa: E402

with logged_to(snakemake.log[0]):
    auto = snakemake.params.auto
    chosen = choose_couplings(
        pd.read_csv(snakemake.input.table), snakemake.params.target, auto["candidates"], auto["k"]
    )
    logging.getLogger("mtrl").info("chosen couplings: %s", chosen)
    with atomic_path(snakemake.output.couplings) as tmp:
        tmp.write_text(yaml.safe_dump(chosen, sort_keys=False))
