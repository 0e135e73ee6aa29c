"""The order of couplings and sharing levels in tables, text and figures: the config's, then the rest.

Findings and plots both list couplings and sharing levels in the order the config gives them
(``couplings`` and ``sharing``), so that a study reads the same way in every output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd


def ordered(values: Iterable, preferred: Sequence | None = None) -> list:
    """Distinct ``values``: those in ``preferred`` first in its order, then the rest as they appear."""
    seen = list(dict.fromkeys(values))
    head = [v for v in (preferred or []) if v in seen]
    return head + [v for v in seen if v not in head]


def sort_cells(frame: pd.DataFrame, couplings: Sequence, sharings: Sequence) -> pd.DataFrame:
    """Rows of ``frame`` by coupling and sharing in the given orders (others last), then by ``n_train``."""
    rank_c = {c: i for i, c in enumerate(couplings)}
    rank_s = {s: i for i, s in enumerate(sharings)}
    keys = frame.assign(
        _c=frame["coupling"].map(rank_c).fillna(len(rank_c)),
        _s=frame["sharing"].map(rank_s).fillna(len(rank_s)),
    )
    by = ["_c", "_s"] + (["n_train"] if "n_train" in frame else [])
    return keys.sort_values(by, kind="stable").drop(columns=["_c", "_s"]).reset_index(drop=True)
