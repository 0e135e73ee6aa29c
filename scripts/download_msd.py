"""Snakemake script of rules download_msd (fetch one official file) and unpack_msd (extract it)."""

import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.data.download import fetch_official, unpack
from mtrl.logs import logged_to

with logged_to(snakemake.log[0]):
    if snakemake.rule == "unpack_msd":
        unpack(
            snakemake.input.archive,
            os.path.dirname(snakemake.output.file) or ".",
            members=[os.path.basename(snakemake.output.file)],
            content=snakemake.params.content,
        )
    else:
        # size and checksum pins and the timeout come from the config, not params: pinning must
        # not rerun the job
        fetch_official(snakemake.config, snakemake.wildcards.file, snakemake.output.file)
