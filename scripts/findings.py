"""Snakemake script of rule findings: the research questions answered in words, for the report."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/..")

import pandas as pd

from mtrl.findings import write_findings
from mtrl.io import atomic_path
from mtrl.logs import logged_to
from mtrl.numerics import read_numerics
from mtrl.report import findings_page, front_page
from mtrl.stats.exclusions import read_plan

with logged_to(snakemake.log[0]):
    text = write_findings(
        pd.read_csv(snakemake.input.runs),
        pd.read_csv(snakemake.input.comparison),
        pd.read_csv(snakemake.input.summary),
        target=snakemake.params.target,
        alpha=snakemake.params.alpha,
        method=snakemake.params.adjustment,
        auxiliary_all_labels=snakemake.params.auxiliary_all_labels,
        couplings=snakemake.params.couplings,
        sharings=snakemake.params.sharing,
        plan=read_plan(snakemake.input.plan),
        metric=snakemake.params.metric,
        hypotheses=pd.read_csv(snakemake.input.hypotheses),
        numerics=read_numerics(snakemake.input.numerics),
        seeds=pd.read_csv(snakemake.input.seeds) if hasattr(snakemake.input, "seeds") else None,
    )
    for path, content in (
        (snakemake.output.markdown, text),
        (snakemake.output.html, findings_page(text)),
        (snakemake.output.front_page, front_page(Path(snakemake.input.description).read_text(), text)),
    ):
        with atomic_path(path) as tmp:
            tmp.write_text(content)
