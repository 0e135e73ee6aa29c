"""Readers of the Million Song Dataset's label files (official formats), as pandas DataFrames.

The readers live in one module per file format and are re-exported here:
:mod:`mtrl.data.msd_h5` (per-track and summary HDF5 files), :mod:`mtrl.data.msd_sqlite`
(``track_metadata.db``, ``artist_term.db``) and :mod:`mtrl.data.msd_text` (tagtraum genres,
musiXmatch years, generic CSV/TSV tables).

Every reader returns a frame indexed by the MSD track id (index name ``track_id``), except
:func:`read_year_by_mxm` (indexed by the musiXmatch id, ``mxm_tid``) and :func:`read_artist_terms`
(indexed by ``artist_id``). Missing values are NaN/None; the MSD's "year 0 = unknown" becomes NaN.
A missing file raises FileNotFoundError, an unreadable or malformed one ValueError naming the file
and the line (or SQLite rowid), and a repeated id ValueError naming the id.
"""

from __future__ import annotations

from mtrl.data.msd_h5 import SONG_COLUMNS, SONG_FIELDS, TRACK_H5_COLUMNS, read_summary_h5, read_track_h5
from mtrl.data.msd_sqlite import (
    TRACK_METADATA_COLUMNS,
    read_artist_terms,
    read_artist_terms_db,
    read_track_metadata_db,
)
from mtrl.data.msd_text import (
    MISSING_CELLS,
    read_label_table,
    read_tagtraum,
    read_year_by_mxm,
    table_separator,
)

__all__ = [
    "MISSING_CELLS",
    "SONG_COLUMNS",
    "SONG_FIELDS",
    "TRACK_H5_COLUMNS",
    "TRACK_METADATA_COLUMNS",
    "read_artist_terms",
    "read_artist_terms_db",
    "read_label_table",
    "read_summary_h5",
    "read_tagtraum",
    "read_track_h5",
    "read_track_metadata_db",
    "read_year_by_mxm",
    "table_separator",
]
