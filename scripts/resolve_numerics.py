"""Snakemake script of rule resolve_numerics: the study's backend, precision and device, once."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.logs import logged_to
from mtrl.resolve_numerics import resolve_numerics

with logged_to(snakemake.log[0]):
    resolve_numerics(
        snakemake.params.backend,
        snakemake.params.precision,
        snakemake.params.network,
        snakemake.output.numerics,
        threads=snakemake.threads,
    )
