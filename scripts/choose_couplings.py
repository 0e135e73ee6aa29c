"""Snakemake script of rule choose_couplings (couplings: auto): tight and loose sets from the data."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import logging

import pandas as pd
import yaml

from mtrl.couplings import choose_couplings
from mtrl.io import atomic_path
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    auto = snakemake.params.auto
    chosen = choose_couplings(
        pd.read_csv(snakemake.input.table), snakemake.params.target, auto["candidates"], auto["k"]
    )
    logging.getLogger("mtrl").info("chosen couplings: %s", chosen)
    with atomic_path(snakemake.output.couplings) as tmp:
        tmp.write_text(yaml.safe_dump(chosen, sort_keys=False))
