"""The two kinds of run of a study, as they appear in ``metrics.json`` and every table.

A multi-task run trains the tasks of one coupling with one sharing strategy; a single-task run
(the baseline) trains one task alone. Single-task rows carry :data:`SINGLE_COUPLING` and
:data:`SINGLE_SHARING` in the coupling and sharing columns, so that every table has one layout.
"""

from __future__ import annotations

MULTITASK = "multitask"
SINGLE = "single"
RUN_KINDS = (MULTITASK, SINGLE)

SINGLE_COUPLING = "single"  # the coupling column of a single-task run
SINGLE_SHARING = "none"  # the sharing column of a single-task run (the all-private preset)
