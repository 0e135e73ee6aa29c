"""Findings in words: the four research questions answered from the runs, comparison and summary tables.

Every sentence is generated from the numbers it cites (estimate, 95% interval, adjusted p-value, seeds),
and a difference is called detectable only when its interval excludes zero and its p-value, adjusted
for multiple comparisons (statsmodels ``multipletests``), is below alpha. The statistics are in
:mod:`mtrl.stats`; this package only writes them down (markdown). No Keras.

- :mod:`mtrl.findings.document`: :func:`write_findings`, the whole document;
- :mod:`mtrl.findings.benefit`: the header and Q1 (multi-task vs single-task, the trivial baseline);
- :mod:`mtrl.findings.questions`: Q2 (training-set size), Q3 (coupling), Q4 (sharing), auxiliary data;
- :mod:`mtrl.findings.plan`: the cells the data could not fill as requested (excluded, capped);
- :mod:`mtrl.findings.wording`: numbers, intervals, cell labels and markdown tables.
"""

from mtrl.findings.document import write_findings

__all__ = ["write_findings"]
