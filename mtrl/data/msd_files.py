"""Checks shared by the readers of the MSD label files: the file exists, ids are unique, year 0."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path; FileNotFoundError if it is missing, ValueError if it is no regular file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: {what} not found")
    if not p.is_file():
        raise ValueError(f"{p}: {what} is not a regular file")
    return p


def check_unique_index(frame: pd.DataFrame, path: Path, where: Sequence | None = None) -> None:
    """Raise naming the first repeated id (and, given ``where``, the lines of both occurrences)."""
    dup = frame.index.duplicated()
    if not dup.any():
        return
    second = int(np.flatnonzero(dup)[0])
    key = frame.index[second]
    first = int(np.flatnonzero(frame.index == key)[0])
    at = f" (line {where[first]} and line {where[second]})" if where is not None else ""
    raise ValueError(f"{path}: duplicate {frame.index.name} {key!r}{at}")


def msd_years(value: np.ndarray) -> np.ndarray:
    """MSD years as float64 with 0 (unknown) -> NaN."""
    year = np.asarray(value, dtype=np.float64)
    return np.where(year == 0, np.nan, year)
