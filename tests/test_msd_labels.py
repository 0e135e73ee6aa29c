"""Readers of the MSD label files: exact values in the official formats, and every error."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from mtrl.data import msd_labels
from mtrl.data.msd_h5 import SONG_COLUMNS, TRACK_H5_COLUMNS, read_summary_h5, read_track_h5
from mtrl.data.msd_sqlite import (
    TRACK_METADATA_COLUMNS,
    read_artist_terms,
    read_artist_terms_db,
    read_track_metadata_db,
)
from mtrl.data.msd_text import read_label_table, read_tagtraum, read_year_by_mxm, table_separator

# The official PyTables compound layouts, as in the real MSD per-track files (field order included).
ANALYSIS_DTYPE = np.dtype(
    [("analysis_sample_rate", "<i4"), ("audio_md5", "S32"), ("danceability", "<f8"), ("duration", "<f8"),
     ("end_of_fade_in", "<f8"), ("energy", "<f8"), ("idx_bars_confidence", "<i4"), ("idx_bars_start", "<i4"),
     ("idx_beats_confidence", "<i4"), ("idx_beats_start", "<i4"), ("idx_sections_confidence", "<i4"),
     ("idx_sections_start", "<i4"), ("idx_segments_confidence", "<i4"), ("idx_segments_loudness_max", "<i4"),
     ("idx_segments_loudness_max_time", "<i4"), ("idx_segments_loudness_start", "<i4"),
     ("idx_segments_pitches", "<i4"), ("idx_segments_start", "<i4"), ("idx_segments_timbre", "<i4"),
     ("idx_tatums_confidence", "<i4"), ("idx_tatums_start", "<i4"), ("key", "<i4"), ("key_confidence", "<f8"),
     ("loudness", "<f8"), ("mode", "<i4"), ("mode_confidence", "<f8"), ("start_of_fade_out", "<f8"),
     ("tempo", "<f8"), ("time_signature", "<i4"), ("time_signature_confidence", "<f8"), ("track_id", "S32")]
)  # fmt: skip
METADATA_DTYPE = np.dtype(
    [("analyzer_version", "S32"), ("artist_7digitalid", "<i4"), ("artist_familiarity", "<f8"),
     ("artist_hotttnesss", "<f8"), ("artist_id", "S32"), ("artist_latitude", "<f8"),
     ("artist_location", "S1024"), ("artist_longitude", "<f8"), ("artist_mbid", "S40"),
     ("artist_name", "S1024"), ("artist_playmeid", "<i4"),
     ("genre", "S1024"), ("idx_artist_terms", "<i4"), ("idx_similar_artists", "<i4"), ("release", "S1024"),
     ("release_7digitalid", "<i4"), ("song_hotttnesss", "<f8"), ("song_id", "S32"), ("title", "S1024"),
     ("track_7digitalid", "<i4")]
)  # fmt: skip
MUSICBRAINZ_DTYPE = np.dtype([("idx_artist_mbtags", "<i4"), ("year", "<i4")])

SONG_A = dict(
    track_id="TRAAABD128F429CF47", loudness=-9.843, tempo=121.274, key=6, mode=0, time_signature=4,
    duration=148.03546, year=1969, song_hotttnesss=float("nan"), artist_hotttnesss=0.41749964,
    artist_familiarity=0.63063004, artist_id="ARMJAGH1187FB546F3",
    artist_terms=["blue-eyed soul", "pop rock", "blues-rock"], artist_mbtags=["classic pop and rock"],
)  # fmt: skip
SONG_B = dict(
    track_id="TRAAADZ128F9348C2E", loudness=-9.689, tempo=100.07, key=8, mode=1, time_signature=1,
    duration=177.47546, year=0, song_hotttnesss=0.25, artist_hotttnesss=0.343428, artist_familiarity=0.487357,
    artist_id="ARKRRTF1187B9984DA", artist_terms=["salsa", "cumbia"], artist_mbtags=[],
)  # fmt: skip


def song(base: dict, **changes) -> dict:
    return {**base, **changes}


def _table(f: h5py.File, name: str, rows: np.ndarray, title: str) -> None:
    dset = f.create_dataset(name, data=rows, maxshape=(None,), chunks=True)
    dset.attrs["CLASS"] = np.bytes_(b"TABLE")
    dset.attrs["TITLE"] = np.bytes_(title.encode())
    dset.attrs["NROWS"] = np.int64(len(rows))


def write_msd_h5(path: Path, songs: list[dict], arrays: bool = True) -> Path:
    """An MSD HDF5 file in the official layout (one song: a track file; ``arrays=False``: summary)."""
    n = len(songs)
    analysis = np.zeros(n, ANALYSIS_DTYPE)
    metadata = np.zeros(n, METADATA_DTYPE)
    musicbrainz = np.zeros(n, MUSICBRAINZ_DTYPE)
    terms: list[str] = []
    mbtags: list[str] = []
    for i, s in enumerate(songs):
        for field in ("loudness", "tempo", "key", "mode", "time_signature", "duration"):
            analysis[field][i] = s[field]
        analysis["track_id"][i] = s["track_id"].encode()
        analysis["analysis_sample_rate"][i] = 22050
        for field in ("song_hotttnesss", "artist_hotttnesss", "artist_familiarity"):
            metadata[field][i] = s[field]
        metadata["artist_id"][i] = s["artist_id"].encode()
        metadata["title"][i] = b"Soul Deep"
        metadata["idx_artist_terms"][i] = len(terms) if arrays else 0
        musicbrainz["idx_artist_mbtags"][i] = len(mbtags) if arrays else 0
        musicbrainz["year"][i] = s["year"]
        terms += s.get("artist_terms", [])
        mbtags += s.get("artist_mbtags", [])
    with h5py.File(path, "w") as f:
        f.attrs["CLASS"] = np.bytes_(b"GROUP")
        f.attrs["TITLE"] = np.bytes_(b"H5 Song File")
        for group in ("analysis", "metadata", "musicbrainz"):
            f.create_group(group)
        _table(f, "analysis/songs", analysis, "table of Echo Nest analysis for one song")
        _table(f, "metadata/songs", metadata, "table of metadata for one song")
        _table(f, "musicbrainz/songs", musicbrainz, "table of data coming from MusicBrainz")
        if arrays:
            f.create_dataset(
                "metadata/artist_terms", data=np.array([t.encode() for t in terms], dtype="S256")
            )
            f.create_dataset("metadata/artist_terms_freq", data=np.linspace(1, 0.5, len(terms)))
            f.create_dataset("metadata/artist_terms_weight", data=np.linspace(1, 0.2, len(terms)))
            f.create_dataset(
                "musicbrainz/artist_mbtags", data=np.array([t.encode() for t in mbtags], dtype="S256")
            )
            f.create_dataset("musicbrainz/artist_mbtags_count", data=np.ones(len(mbtags), np.int32))
    return path


TRACK_METADATA_SCHEMA = (
    "CREATE TABLE songs (track_id text PRIMARY KEY, title text, song_id text, release text, "
    "artist_id text, artist_mbid text, artist_name text, duration real, artist_familiarity real, "
    "artist_hotttnesss real, year int)"
)
ARTIST_TERM_SCHEMA = (
    "CREATE TABLE artists (artist_id text PRIMARY KEY)",
    "CREATE TABLE terms (term TEXT PRIMARY KEY)",
    "CREATE TABLE artist_term (artist_id text, term text, "
    "FOREIGN KEY(artist_id) REFERENCES artists(artist_id), FOREIGN KEY(term) REFERENCES terms(term))",
    "CREATE TABLE mbtags (mbtag TEXT PRIMARY KEY)",
    "CREATE TABLE artist_mbtag (artist_id text, mbtag text, "
    "FOREIGN KEY(artist_id) REFERENCES artists(artist_id), FOREIGN KEY(mbtag) REFERENCES mbtags(mbtag))",
)


def write_track_metadata_db(path: Path, rows: list[tuple], schema: str = TRACK_METADATA_SCHEMA) -> Path:
    with sqlite3.connect(path) as con:
        con.execute(schema)
        con.executemany("INSERT INTO songs VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.close()
    return path


def write_artist_term_db(path: Path, terms: dict[str, list[str]], mbtags: dict[str, list[str]]) -> Path:
    with sqlite3.connect(path) as con:
        for statement in ARTIST_TERM_SCHEMA:
            con.execute(statement)
        con.executemany("INSERT INTO artists VALUES (?)", [(a,) for a in sorted(set(terms) | set(mbtags))])
        con.executemany(
            "INSERT INTO terms VALUES (?)", [(t,) for t in sorted({t for v in terms.values() for t in v})]
        )
        con.executemany(
            "INSERT INTO artist_term VALUES (?, ?)", [(a, t) for a, v in terms.items() for t in v]
        )
        con.executemany(
            "INSERT INTO mbtags VALUES (?)", [(t,) for t in sorted({t for v in mbtags.values() for t in v})]
        )
        con.executemany(
            "INSERT INTO artist_mbtag VALUES (?, ?)", [(a, t) for a, v in mbtags.items() for t in v]
        )
    con.close()
    return path


META_ROWS = [
    ("TRA", "Soul Deep", "SOA", "Dimensions", "ARA", "mb-a", "The Box Tops", 148.0, 0.63, 0.41, 1969),
    ("TRB", "Tarzan", "SOB", "Tarzan", "ARB", "", "Sonora Santanera", 177.5, 0.48, 0.34, 0),
    ("TRC", "Untitled", "SOC", "Rel", "ARC", None, "Nobody", None, None, None, None),
]


# --- per-track HDF5 files -------------------------------------------------------------------------


def test_track_h5_directory_is_searched_recursively_with_exact_values(tmp_path: Path) -> None:
    (tmp_path / "A" / "A").mkdir(parents=True)
    (tmp_path / "B").mkdir()
    write_msd_h5(tmp_path / "A" / "A" / "TRAAABD128F429CF47.h5", [SONG_A])
    write_msd_h5(tmp_path / "B" / "TRAAADZ128F9348C2E.h5", [SONG_B])
    (tmp_path / "B" / "notes.h5").write_text("not a track file, not named TR*.h5")
    frame = read_track_h5(tmp_path)
    assert frame.index.name == "track_id"
    assert list(frame.index) == ["TRAAABD128F429CF47", "TRAAADZ128F9348C2E"]
    assert list(frame.columns) == list(TRACK_H5_COLUMNS)
    a, b = frame.loc["TRAAABD128F429CF47"], frame.loc["TRAAADZ128F9348C2E"]
    assert (a["loudness"], a["tempo"], a["key"], a["mode"], a["time_signature"]) == (-9.843, 121.274, 6, 0, 4)
    assert a["duration"] == 148.03546 and a["year"] == 1969.0
    assert np.isnan(a["song_hotttnesss"]) and b["song_hotttnesss"] == 0.25
    assert (a["artist_hotttnesss"], a["artist_familiarity"]) == (0.41749964, 0.63063004)
    assert a["artist_id"] == "ARMJAGH1187FB546F3"
    assert a["artist_terms"] == ("blue-eyed soul", "pop rock", "blues-rock")
    assert a["artist_mbtags"] == ("classic pop and rock",)
    assert np.isnan(b["year"]), "year 0 means unknown"
    assert b["artist_terms"] == ("salsa", "cumbia") and b["artist_mbtags"] == ()
    assert frame["year"].dtype == np.float64 and frame["key"].dtype == np.int64


def test_track_h5_accepts_a_list_of_files_a_single_file_and_multi_song_files(tmp_path: Path) -> None:
    one = write_msd_h5(tmp_path / "TR1.h5", [SONG_A])
    two = write_msd_h5(
        tmp_path / "TR2.h5", [SONG_B, song(SONG_A, track_id="TRC", artist_terms=[], year=2001)]
    )
    assert list(read_track_h5(one).index) == ["TRAAABD128F429CF47"]
    frame = read_track_h5([two, one])
    assert list(frame.index) == ["TRAAADZ128F9348C2E", "TRC", "TRAAABD128F429CF47"]
    assert frame.loc["TRAAADZ128F9348C2E", "artist_terms"] == ("salsa", "cumbia")
    assert frame.loc["TRC", "artist_terms"] == () and frame.loc["TRC", "year"] == 2001
    assert frame.loc["TRC", "artist_mbtags"] == ("classic pop and rock",)


def test_track_h5_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere: MSD HDF5 track file or directory not found"):
        read_track_h5(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"TRX\.h5: MSD HDF5 track file not found"):
        read_track_h5([tmp_path / "TRX.h5"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no TR\*\.h5 track files"):
        read_track_h5(tmp_path / "empty")
    text = tmp_path / "TRTEXT.h5"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"TRTEXT\.h5: cannot read as an HDF5 file"):
        read_track_h5([text])
    no_table = tmp_path / "TRNOTABLE.h5"
    with h5py.File(no_table, "w") as f:
        f.create_group("analysis")
    with pytest.raises(ValueError, match=r"TRNOTABLE\.h5: no table /analysis/songs"):
        read_track_h5([no_table])
    no_field = write_msd_h5(tmp_path / "TRNOFIELD.h5", [SONG_A])
    with h5py.File(no_field, "a") as f:
        rows = f["musicbrainz/songs"][()]
        del f["musicbrainz/songs"]
        f.create_dataset(
            "musicbrainz/songs",
            data=np.array(rows["idx_artist_mbtags"], dtype=[("idx_artist_mbtags", "<i4")]),
        )
    with pytest.raises(
        ValueError, match=r"TRNOFIELD\.h5: table /musicbrainz/songs lacks the field\(s\) year"
    ):
        read_track_h5([no_field])
    no_terms = write_msd_h5(tmp_path / "TRNOTERMS.h5", [SONG_A])
    with h5py.File(no_terms, "a") as f:
        del f["metadata/artist_terms"]
    with pytest.raises(ValueError, match=r"TRNOTERMS\.h5: no array /metadata/artist_terms"):
        read_track_h5([no_terms])


def test_track_h5_duplicate_track_ids_name_both_files(tmp_path: Path) -> None:
    a = write_msd_h5(tmp_path / "TR1.h5", [SONG_A])
    b = write_msd_h5(tmp_path / "TR2.h5", [song(SONG_A, loudness=-3.0)])
    with pytest.raises(
        ValueError, match=r"duplicate track_id 'TRAAABD128F429CF47' in .*TR1\.h5 and .*TR2\.h5"
    ):
        read_track_h5([a, b])


def test_real_track_h5_files(msd_sample: Path) -> None:
    frame = read_track_h5(msd_sample / "h5")
    assert list(frame.index) == [
        "TRAAABD128F429CF47",
        "TRAAADZ128F9348C2E",
        "TRAAAEF128F4273421",
        "TRAAAFD128F92F423A",
    ]
    np.testing.assert_allclose(frame["loudness"], [-9.843, -9.689, -9.013, -4.501])
    np.testing.assert_array_equal(frame["year"], [1969, np.nan, 1982, 2007])
    assert np.isnan(frame["song_hotttnesss"].iloc[:3]).all()
    assert frame["song_hotttnesss"].iloc[3] == pytest.approx(0.60450074)
    a = frame.loc["TRAAABD128F429CF47"]
    assert a["artist_id"] == "ARMJAGH1187FB546F3" and a["tempo"] == pytest.approx(121.274)
    assert len(a["artist_terms"]) == 38 and a["artist_terms"][:2] == ("blue-eyed soul", "pop rock")
    assert a["artist_mbtags"] == ("classic pop and rock",)
    assert frame.loc["TRAAAEF128F4273421", "artist_mbtags"] == ("uk", "british", "english")
    assert [len(t) for t in frame["artist_terms"]] == [38, 10, 43, 38]


# --- summary file ---------------------------------------------------------------------------------


def test_summary_h5_reads_all_rows(tmp_path: Path) -> None:
    path = write_msd_h5(
        tmp_path / "msd_summary_file.h5",
        [SONG_A, SONG_B, song(SONG_B, track_id="TRC", year=1999)],
        arrays=False,
    )
    frame = read_summary_h5(path)
    assert list(frame.columns) == list(SONG_COLUMNS) and frame.index.name == "track_id"
    assert list(frame.index) == ["TRAAABD128F429CF47", "TRAAADZ128F9348C2E", "TRC"]
    np.testing.assert_array_equal(frame["year"], [1969, np.nan, 1999])
    np.testing.assert_array_equal(frame["loudness"], [-9.843, -9.689, -9.689])
    assert list(frame["artist_id"]) == ["ARMJAGH1187FB546F3", "ARKRRTF1187B9984DA", "ARKRRTF1187B9984DA"]
    np.testing.assert_array_equal(frame["song_hotttnesss"], [np.nan, 0.25, 0.25])


def test_summary_h5_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"msd_summary_file\.h5: MSD summary HDF5 file not found"):
        read_summary_h5(tmp_path / "msd_summary_file.h5")
    dup = write_msd_h5(tmp_path / "dup.h5", [SONG_A, SONG_B, SONG_A], arrays=False)
    with pytest.raises(ValueError, match=r"dup\.h5: duplicate track_id 'TRAAABD128F429CF47'"):
        read_summary_h5(dup)
    short = write_msd_h5(tmp_path / "short.h5", [SONG_A, SONG_B], arrays=False)
    with h5py.File(short, "a") as f:
        f["musicbrainz/songs"].resize((1,))
    with pytest.raises(ValueError, match=r"short\.h5: the song tables differ in length"):
        read_summary_h5(short)


# --- SQLite ---------------------------------------------------------------------------------------


def test_track_metadata_db(tmp_path: Path) -> None:
    frame = read_track_metadata_db(write_track_metadata_db(tmp_path / "track_metadata.db", META_ROWS))
    assert frame.index.name == "track_id" and list(frame.index) == ["TRA", "TRB", "TRC"]
    assert list(frame.columns) == list(TRACK_METADATA_COLUMNS)
    assert frame.loc["TRA", "artist_name"] == "The Box Tops" and frame.loc["TRA", "artist_id"] == "ARA"
    np.testing.assert_array_equal(frame["year"], [1969, np.nan, np.nan])
    np.testing.assert_array_equal(frame["duration"], [148.0, 177.5, np.nan])
    np.testing.assert_array_equal(frame["artist_hotttnesss"], [0.41, 0.34, np.nan])


def test_track_metadata_db_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"none\.db: track metadata database not found"):
        read_track_metadata_db(tmp_path / "none.db")
    text = tmp_path / "text.db"
    text.write_text("this is not a database " * 100)
    with pytest.raises(ValueError, match=r"text\.db: cannot read the track metadata database"):
        read_track_metadata_db(text)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE tracks (track_id text)")
    con.close()
    with pytest.raises(
        ValueError, match=r"other\.db: .*no such table: songs.*expected table songs\(track_id"
    ):
        read_track_metadata_db(other)
    loose = TRACK_METADATA_SCHEMA.replace("track_id text PRIMARY KEY", "track_id text")
    bad_year = write_track_metadata_db(
        tmp_path / "bad_year.db", [*META_ROWS[:2], (*META_ROWS[2][:-1], "nineteen")], loose
    )
    with pytest.raises(ValueError, match=r"bad_year\.db: table songs, rowid 3: year 'nineteen' is not"):
        read_track_metadata_db(bad_year)
    null_id = write_track_metadata_db(
        tmp_path / "null_id.db", [META_ROWS[0], (None, *META_ROWS[1][1:])], loose
    )
    with pytest.raises(ValueError, match=r"null_id\.db: table songs, rowid 2: track_id None"):
        read_track_metadata_db(null_id)
    dup = write_track_metadata_db(tmp_path / "dup.db", [*META_ROWS, META_ROWS[1]], loose)
    with pytest.raises(
        ValueError, match=r"dup\.db: duplicate track_id 'TRB' \(line rowid 2 and line rowid 4\)"
    ):
        read_track_metadata_db(dup)


def test_artist_terms_db(tmp_path: Path) -> None:
    path = write_artist_term_db(
        tmp_path / "artist_term.db",
        terms={"ARA": ["pop rock", "blue-eyed soul"], "ARB": ["salsa"], "ARE": []},
        mbtags={"ARA": ["classic pop and rock"]},
    )
    per_artist = read_artist_terms(path)
    assert per_artist.index.name == "artist_id"
    assert per_artist.loc["ARA", "artist_terms"] == ("blue-eyed soul", "pop rock")
    assert per_artist.loc["ARB", "artist_mbtags"] == ()
    artist_ids = pd.Series(
        ["ARA", "ARB", "ARZ", None, "ARA"], index=pd.Index(["T1", "T2", "T3", "T4", "T5"], name="track_id")
    )
    frame = read_artist_terms_db(path, artist_ids)
    assert list(frame.index) == ["T1", "T2", "T3", "T4", "T5"] and frame.index.name == "track_id"
    assert list(frame["artist_terms"]) == [
        ("blue-eyed soul", "pop rock"),
        ("salsa",),
        None,
        None,
        ("blue-eyed soul", "pop rock"),
    ]
    assert list(frame["artist_mbtags"]) == [
        ("classic pop and rock",),
        (),
        None,
        None,
        ("classic pop and rock",),
    ]


def test_artist_terms_db_errors(tmp_path: Path) -> None:
    ids = pd.Series(["ARA"], index=pd.Index(["T1"], name="track_id"))
    with pytest.raises(FileNotFoundError, match=r"artist_term\.db: artist term database not found"):
        read_artist_terms_db(tmp_path / "artist_term.db", ids)
    partial = tmp_path / "partial.db"
    with sqlite3.connect(partial) as con:
        con.execute(ARTIST_TERM_SCHEMA[0])
    con.close()
    with pytest.raises(ValueError, match=r"partial\.db: .*no such table: artist_term"):
        read_artist_terms_db(partial, ids)
    null_term = write_artist_term_db(tmp_path / "null.db", {"ARA": ["rock"]}, {})
    with sqlite3.connect(null_term) as con:
        con.execute("INSERT INTO artist_term VALUES ('ARA', NULL)")
    con.close()
    with pytest.raises(ValueError, match=r"null\.db: table artist_term, rowid 2: expected non-null text"):
        read_artist_terms_db(null_term, ids)


# --- text files -----------------------------------------------------------------------------------


def test_tagtraum(tmp_path: Path) -> None:
    path = tmp_path / "msd_tagtraum_cd1.cls"
    path.write_text("# tagtraum CD1\n#\nTRAAABD128F429CF47\tPop_Rock\n\nTRAAAED128E0783FAB\tJazz\tVocal\r\n")
    frame = read_tagtraum(path)
    assert frame.index.name == "track_id" and list(frame.index) == [
        "TRAAABD128F429CF47",
        "TRAAAED128E0783FAB",
    ]
    assert list(frame["genre_majority"]) == ["Pop_Rock", "Jazz"]
    assert list(frame["genre_minority"]) == [None, "Vocal"]


@pytest.mark.parametrize("line", ["TRX", "TRX\tRock\tPop\tJazz", "TRX\t\tRock", "\tRock", "TRX Rock"])
def test_tagtraum_malformed_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "genres.cls"
    path.write_text(f"#c\nTR1\tRap\n{line}\n")
    with pytest.raises(
        ValueError,
        match=rf"genres\.cls, line 3: expected TRACK_ID<TAB>majority genre.*{re.escape(repr(line))}",
    ):
        read_tagtraum(path)


def test_tagtraum_duplicates_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "genres.cls"
    path.write_text("TR1\tRap\nTR2\tJazz\nTR1\tPop_Rock\n")
    with pytest.raises(ValueError, match=r"genres\.cls: duplicate track_id 'TR1' \(line 1 and line 3\)"):
        read_tagtraum(path)
    with pytest.raises(FileNotFoundError, match=r"gone\.cls: tagtraum genre file not found"):
        read_tagtraum(tmp_path / "gone.cls")
    with pytest.raises(ValueError, match=r"is not a regular file"):
        read_tagtraum(tmp_path)
    latin = tmp_path / "latin.cls"
    latin.write_bytes(b"TR1\tRap\nTR2\tCumbi\xe1\n")
    with pytest.raises(ValueError, match=r"latin\.cls, line 2: not valid UTF-8"):
        read_tagtraum(latin)


def test_year_by_mxm(tmp_path: Path) -> None:
    path = tmp_path / "MSD_track_id_and_year.txt"
    path.write_text("4623710\t2005\n6477168\t0\n\n3759847\t1982\n")
    frame = read_year_by_mxm(path)
    assert frame.index.name == "mxm_tid" and list(frame.index) == ["4623710", "6477168", "3759847"]
    assert frame["year"].dtype == np.float64
    np.testing.assert_array_equal(frame["year"], [2005, np.nan, 1982])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("4623711", r"line 2: expected MXM_TID<TAB>year, got '4623711'"),
        ("4623711\t2005\t1", r"line 2: expected MXM_TID<TAB>year"),
        ("\t2005", r"line 2: expected MXM_TID<TAB>year"),
        ("4623711\t20x5", r"line 2: year '20x5' is not an integer"),
        ("4623711\t2005.5", r"line 2: year '2005.5' is not an integer"),
        ("4623711\t-5", r"line 2: year -5 is negative"),
    ],
)
def test_year_by_mxm_malformed(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "years.txt"
    path.write_text(f"4623710\t2005\n{line}\n")
    with pytest.raises(ValueError, match=rf"years\.txt, {message}"):
        read_year_by_mxm(path)


def test_year_by_mxm_duplicates_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "years.txt"
    path.write_text("1\t2005\n2\t2001\n1\t2005\n")
    with pytest.raises(ValueError, match=r"years\.txt: duplicate mxm_tid '1' \(line 1 and line 3\)"):
        read_year_by_mxm(path)
    with pytest.raises(FileNotFoundError, match=r"nope\.txt: musiXmatch year file not found"):
        read_year_by_mxm(tmp_path / "nope.txt")


def test_label_table_csv_and_tsv(tmp_path: Path) -> None:
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text('id,valence,mood,note\nTR1,0.5,happy,"a, b"\nTR2,,sad,\n\nTR3,-1e3,,x\n')
    frame = read_label_table(csv_path, "id")
    assert frame.index.name == "track_id" and list(frame.index) == ["TR1", "TR2", "TR3"]
    assert list(frame.columns) == ["valence", "mood", "note"]
    assert frame["valence"].dtype == np.float64
    np.testing.assert_array_equal(frame["valence"], [0.5, np.nan, -1000.0])
    assert list(frame["mood"]) == ["happy", "sad", None] and list(frame["note"]) == ["a, b", None, "x"]
    tsv_path = tmp_path / "labels.tsv"
    tsv_path.write_text("track\tscore\nTR1\t3\nTR2\tinf\n")
    tsv = read_label_table(tsv_path, "track")
    np.testing.assert_array_equal(tsv["score"], [3.0, np.inf])
    semi = tmp_path / "labels.data"
    semi.write_text("track;score\nTR1;3\n")
    assert read_label_table(semi, "track", sep=";").loc["TR1", "score"] == 3.0
    assert table_separator("a.TXT") == "\t" and table_separator("a.csv") == ","


def test_label_table_errors(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    with pytest.raises(FileNotFoundError, match=r"labels\.csv: label table not found"):
        read_label_table(path, "id")
    path.write_text("")
    with pytest.raises(ValueError, match=r"labels\.csv: empty label table"):
        read_label_table(path, "id")
    path.write_text("track,score\nTR1,1\n")
    with pytest.raises(
        ValueError, match=r"labels\.csv: no id column 'id' in the header \(columns: track, score"
    ):
        read_label_table(path, "id")
    path.write_text("id,score\nTR1,1\nTR2,1,3\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: 3 fields where the header has 2"):
        read_label_table(path, "id")
    path.write_text("id,score\nTR1,1\nTR2\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: 1 fields where the header has 2"):
        read_label_table(path, "id")
    path.write_text("id,score\nTR1,1\n ,2\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: empty id"):
        read_label_table(path, "id")
    path.write_text("id,score\nTR1,1\nTR2,2\nTR1,3\n")
    with pytest.raises(ValueError, match=r"labels\.csv: duplicate track_id 'TR1' \(line 2 and line 4\)"):
        read_label_table(path, "id")
    path.write_text("id,score,score\nTR1,1,2\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 1: repeated column names"):
        read_label_table(path, "id")
    path.write_text('id,score\nTR1,"1\n')
    with pytest.raises(ValueError, match=r"labels\.csv, line \d+: malformed CSV"):
        read_label_table(path, "id")


# --- the real sample ------------------------------------------------------------------------------


def test_real_tagtraum_and_year_files(msd_sample: Path) -> None:
    genres = read_tagtraum(msd_sample / "msd_tagtraum_cd1.cls")
    assert len(genres) == 2149 and int(genres["genre_minority"].notna().sum()) == 530
    assert tuple(genres.loc["TRAAAED128E0783FAB"]) == ("Jazz", "Vocal")
    assert genres["genre_majority"].value_counts()["Pop_Rock"] == 1494
    years = read_year_by_mxm(msd_sample / "MSD_track_id_and_year.txt")
    assert len(years) == 6165 and not years["year"].isna().any()
    assert years.loc["4623710", "year"] == 2005 and years.loc["6477168", "year"] == 1969


# --- the old module path --------------------------------------------------------------------------


def test_msd_labels_reexports_every_reader_and_constant() -> None:
    from mtrl.data import msd_h5, msd_sqlite, msd_text

    homes = {name: m for m in (msd_h5, msd_sqlite, msd_text) for name in dir(m) if not name.startswith("_")}
    assert set(msd_labels.__all__) == {
        "MISSING_CELLS", "SONG_COLUMNS", "SONG_FIELDS", "TRACK_H5_COLUMNS", "TRACK_METADATA_COLUMNS",
        "read_artist_terms", "read_artist_terms_db", "read_label_table", "read_summary_h5", "read_tagtraum",
        "read_track_h5", "read_track_metadata_db", "read_year_by_mxm", "table_separator",
    }  # fmt: skip
    for name in msd_labels.__all__:
        assert getattr(msd_labels, name) is getattr(homes[name], name), name
