"""Snakemake script of rules download_msd (fetch one official file) and unpack_msd (extract it)."""

import os
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")

from mtrl.data.download import download, settings, unpack
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
        # checksum pins and timeout come from the config, not params: pinning must not rerun the job
        options = settings(snakemake.config)
        download(
            snakemake.params.url,
            snakemake.output.file,
            sha256=options.sha256.get(snakemake.wildcards.file),
            timeout=options.timeout,
            kind=snakemake.params.kind,
        )
