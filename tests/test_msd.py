"""Assembling the MSD data set: joins, source precedence, task derivation and config errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from test_msd_labels import (
    SONG_A,
    song,
    write_artist_term_db,
    write_msd_h5,
    write_track_metadata_db,
)

from mtrl.data import msd, msd_join, msd_tasks
from mtrl.data.dataset import Dataset
from mtrl.data.msd import load_msd
from mtrl.data.msd_h5 import read_track_h5
from mtrl.data.msd_tasks import describe_tasks
from mtrl.data.mxm import read_mxm
from mtrl.tasks import TaskSpec

NAN = np.nan


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """Six lyric tracks T1..T6 and every label source, in the official formats.

    T1: track h5 + summary + metadata db + mxm year + tagtraum + table; T2: summary, db, mxm year,
    tagtraum, table; T3: db (artist unknown to artist_term.db), tagtraum, no mxm id; T4: track h5
    (year 0, NaN hotttnesss, no mbtags), db, mxm year (disagrees), tagtraum; T5: only the table;
    T6: db (artist of T1), table.
    """
    lyrics = tmp_path / "mxm_dataset_train.txt"
    lyrics.write_text(
        "# TRAINING SET\n%love,you,baby,night\n"
        "T1,101,1:2,3:1\nT2,102,2:4\nT3,,1:1,2:1,3:1\n\nT4,104,4:7\nT5,105,1:3\nT6,106,2:2,4:1\n"
    )
    h5_dir = tmp_path / "h5"
    (h5_dir / "A").mkdir(parents=True)
    common = dict(SONG_A, artist_terms=["rock", "pop"], artist_mbtags=["british"], artist_id="ARA")
    write_msd_h5(
        h5_dir / "A" / "TR1.h5", [song(common, track_id="T1", loudness=-5.0, year=1990, song_hotttnesss=0.5)]
    )
    write_msd_h5(
        h5_dir / "TR4.h5",
        [
            song(common, track_id="T4", loudness=-7.5, year=0, song_hotttnesss=NAN, artist_id="ARD")
            | {"artist_terms": ["jazz"], "artist_mbtags": []}
        ],
    )
    write_msd_h5(h5_dir / "TR9.h5", [song(common, track_id="T9", loudness=-1.0)])  # no lyrics
    summary = write_msd_h5(
        tmp_path / "msd_summary_file.h5",
        [
            song(common, track_id="T1", loudness=-6.0, year=1990, song_hotttnesss=0.5),
            song(common, track_id="T2", loudness=-3.0, year=0, song_hotttnesss=0.7, artist_id="ARB"),
        ],
        arrays=False,
    )
    meta = write_track_metadata_db(
        tmp_path / "track_metadata.db",
        [
            ("T1", "a", "S1", "r", "ARA", "", "A", 180.0, 0.6, 0.4, 1990),
            ("T2", "b", "S2", "r", "ARB", "", "B", 200.0, 0.5, 0.3, 0),
            ("T3", "c", "S3", "r", "ARC", "", "C", 210.0, 0.4, 0.2, 1985),
            ("T4", "d", "S4", "r", "ARD", "", "D", 220.0, 0.3, 0.1, 1977),
            ("T6", "f", "S6", "r", "ARA", "", "A", 230.0, 0.6, 0.4, 2010),
        ],
    )
    terms = write_artist_term_db(
        tmp_path / "artist_term.db",
        terms={"ARA": ["pop", "rock"], "ARB": ["hip hop", "rap"], "ARD": ["jazz", "swing"]},
        mbtags={"ARA": ["british"], "ARD": ["american"]},
    )
    tagtraum = tmp_path / "msd_tagtraum_cd1.cls"
    tagtraum.write_text("# tagtraum\nT1\tPop_Rock\nT2\tRap\tRnB\nT3\tJazz\nT4\tPop_Rock\nT8\tBlues\n")
    years = tmp_path / "MSD_track_id_and_year.txt"
    years.write_text("101\t1990\n102\t2001\n104\t1978\n999\t1960\n")
    table = tmp_path / "extra.csv"
    table.write_text("id,valence,mood,empty\nT1,0.5,happy,\nT2,inf,sad,\nT5,0.25,calm,\nT6,nan,happy,\n")
    return {
        "lyrics": [str(lyrics)],
        "track_h5": str(h5_dir),
        "summary_h5": str(summary),
        "track_metadata_db": str(meta),
        "artist_term_db": str(terms),
        "tagtraum": str(tagtraum),
        "year_by_mxm": str(years),
        "tables": [{"path": str(table), "id_column": "id"}],
    }


def labels_of(cfg: dict, *tasks: str) -> Dataset:
    return load_msd({**cfg, "tasks": list(tasks)})


def test_rows_features_and_vocabulary_are_the_lyrics(world: dict) -> None:
    dataset = labels_of(world, "year")
    lyrics = read_mxm(world["lyrics"])
    assert list(dataset.ids) == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert dataset.vocabulary == ["love", "you", "baby", "night"]
    np.testing.assert_array_equal(dataset.features.toarray(), lyrics.counts.toarray())
    assert dataset.tasks == [TaskSpec("year", "regression")]
    assert dataset.labels["year"].dtype == np.float64


def test_regression_labels_combine_sources_in_order(world: dict, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mtrl.data.msd")
    d = labels_of(world, "year", "loudness", "hotttnesss", "duration", "artist_familiarity")
    # year: T1 h5; T2 mxm file (db says 0); T3 db; T4 db (h5 says 0, mxm file 1978); T5 none; T6 db
    np.testing.assert_array_equal(d.labels["year"], [1990, 2001, 1985, 1977, NAN, 2010])
    # loudness: T1 track h5 (-5) wins over the summary (-6); T2 summary; T4 track h5
    np.testing.assert_array_equal(d.labels["loudness"], [-5.0, -3.0, NAN, -7.5, NAN, NAN])
    np.testing.assert_array_equal(d.labels["hotttnesss"], [0.5, 0.7, NAN, NAN, NAN, NAN])
    # duration and familiarity: the h5 files (SONG_A values) first, then the database
    np.testing.assert_array_equal(d.labels["duration"], [148.03546, 148.03546, 210.0, 148.03546, NAN, 230.0])
    np.testing.assert_array_equal(
        d.labels["artist_familiarity"], [0.63063004, 0.63063004, 0.4, 0.63063004, NAN, 0.6]
    )
    text = caplog.text
    assert "year: 1 of 2 tracks with both values disagree" in text and "1977 vs 1978" in text
    assert "loudness: 1 of 1 tracks with both values disagree" in text
    assert (
        "task hotttnesss (regression): 2 of 6 rows labelled; missing 4 (3 tracks in no source, 1 missing"
        in text
    )
    assert "task year (regression): 5 of 6 rows labelled; missing 1 (1 tracks in no source, 0 missing" in text
    assert "year_by_mxm: 4 rows, 3 of 6 lyric tracks matched" in text
    assert "track_h5: 3 rows, 2 of 6 lyric tracks matched" in text


def test_genre_tasks(world: dict) -> None:
    d = labels_of(world, "genre", "genre:Pop_Rock", "genre:Rap")
    assert d.task("genre") == TaskSpec("genre", "multiclass", ("Jazz", "Pop_Rock", "Rap"))
    np.testing.assert_array_equal(d.labels["genre"], [1, 2, 0, 1, NAN, NAN])
    np.testing.assert_array_equal(d.labels["genre:Pop_Rock"], [1, 0, 0, 1, NAN, NAN])
    np.testing.assert_array_equal(d.labels["genre:Rap"], [0, 1, 0, 0, NAN, NAN])
    assert d.task("genre:Rap").kind == "binary"


def test_term_and_mbtag_tasks(world: dict) -> None:
    d = labels_of(world, "term:rock", "term:jazz", "mbtag:british", "mbtag:american")
    # T1 h5 terms; T2 artist ARB from the summary; T3 artist ARC unknown; T4 h5; T5 no artist; T6 db
    np.testing.assert_array_equal(d.labels["term:rock"], [1, 0, NAN, 0, NAN, 1])
    np.testing.assert_array_equal(d.labels["term:jazz"], [0, 0, NAN, 1, NAN, 0])
    # ARB has no mbtag and T4's h5 file lists none: unknown there, so T4 takes ARD's from the db
    np.testing.assert_array_equal(d.labels["mbtag:british"], [1, NAN, NAN, 0, NAN, 1])
    np.testing.assert_array_equal(d.labels["mbtag:american"], [0, NAN, NAN, 1, NAN, 0])


def test_generic_table_columns(world: dict, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mtrl.data.msd")
    d = load_msd({**world, "tasks": {"col:valence": None, "col:mood": {"kind": "multiclass"}}})
    np.testing.assert_array_equal(d.labels["col:valence"], [0.5, NAN, NAN, NAN, 0.25, NAN])
    assert d.task("col:mood") == TaskSpec("col:mood", "multiclass", ("calm", "happy", "sad"))
    np.testing.assert_array_equal(d.labels["col:mood"], [1, 2, NAN, NAN, 0, 1])
    assert (
        "task col:valence (regression): 2 of 6 rows labelled; missing 4 (2 tracks in no source, 2 missing "
        "values in the sources: NaN, year 0 or no terms; 1 ±inf values in the sources treated as missing)"
    ) in caplog.text


def test_binary_table_column(tmp_path: Path, world: dict) -> None:
    table = tmp_path / "flags.tsv"
    table.write_text("track\tvocal\tflag\trating\nT1\tno\t1\t3\nT2\tyes\t0\t1\nT3\tyes\t\t2\n")
    cfg = {**world, "tables": [{"path": str(table), "id_column": "track"}]}
    kinds = {"col:vocal": "binary", "col:flag": "binary", "col:rating": "multiclass"}
    d = load_msd({**cfg, "tasks": {name: {"kind": kind} for name, kind in kinds.items()}})
    assert d.task("col:vocal").classes == ("no", "yes")
    np.testing.assert_array_equal(d.labels["col:vocal"], [0, 1, 1, NAN, NAN, NAN])
    assert d.task("col:flag") == TaskSpec("col:flag", "binary")
    np.testing.assert_array_equal(d.labels["col:flag"], [1, 0, NAN, NAN, NAN, NAN])
    assert d.task("col:rating") == TaskSpec("col:rating", "multiclass", ("1", "2", "3"))
    np.testing.assert_array_equal(d.labels["col:rating"], [2, 0, 1, NAN, NAN, NAN])


def test_task_list_forms_and_extra_tasks(world: dict) -> None:
    d = load_msd({**world, "tasks": ["year"]}, tasks=["genre:Jazz", "year"])
    assert [t.name for t in d.tasks] == ["year", "genre:Jazz"]
    d = load_msd({k: v for k, v in world.items()}, tasks=["loudness"])
    assert [t.name for t in d.tasks] == ["loudness"]


def test_unknown_task_lists_the_available_ones(world: dict) -> None:
    with pytest.raises(
        ValueError, match=r"unknown task 'genre:Metal'; available tasks: (.*, )?year, .*genre:Jazz"
    ) as info:
        labels_of(world, "genre:Metal")
    message = str(info.value)
    for name in (
        "loudness",
        "hotttnesss",
        "genre",
        "genre:Pop_Rock",
        "term:rock",
        "mbtag:british",
        "col:valence",
    ):
        assert f" {name}," in message or message.endswith(f" {name}")
    minimal = {"lyrics": world["lyrics"], "tasks": ["year"]}
    with pytest.raises(
        ValueError, match=r"unknown task 'year'; available tasks: \(none: no label source configured\)"
    ):
        load_msd(minimal)


def test_describe_tasks_shortens_long_families() -> None:
    names = ["year"] + [f"term:t{i:02d}" for i in range(35)] + ["mbtag:x"]
    text = describe_tasks(names)
    assert text.startswith("year, term:t00, term:t01")
    assert "term:t29" in text and "term:t30" not in text and text.endswith("mbtag:x, 5 more term:<...> tasks")


def test_msd_reexports_the_join_and_the_tasks() -> None:
    homes = [(msd_join, name) for name in ("SOURCE_ORDER", "LabelColumns", "collect_labels")]
    homes += [(msd_tasks, name) for name in ("REGRESSION_TASKS", "DerivedTask", "available_tasks")]
    homes += [(msd_tasks, name) for name in ("derive_task", "describe_tasks", "requested_tasks")]
    for module, name in homes:
        assert name in msd.__all__ and getattr(msd, name) is getattr(module, name), name


def test_task_errors(world: dict, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"task 'col:empty': no lyric track carries a label"):
        labels_of(world, "col:empty")
    with pytest.raises(
        ValueError, match=r"task 'genre:Pop_Rock': 4 labelled rows, fewer than data.msd.min_labelled = 5"
    ):
        load_msd({**world, "tasks": ["year", "genre:Pop_Rock"], "min_labelled": 5})
    with pytest.raises(ValueError, match=r"task 'year' is regression; it cannot be declared binary"):
        load_msd({**world, "tasks": {"year": {"kind": "binary"}}})
    with pytest.raises(ValueError, match=r"task 'year': kind 'ordinal' is not one of"):
        load_msd({**world, "tasks": {"year": {"kind": "ordinal"}}})
    with pytest.raises(
        ValueError, match=r"a binary column needs exactly 2 distinct values, found \['calm', 'happy', 'sad'\]"
    ):
        load_msd({**world, "tasks": {"col:mood": {"kind": "binary"}}})
    with pytest.raises(
        ValueError, match=r"column 'col:mood' holds non-numeric values \(e.g. 'happy' for track T1\)"
    ):
        labels_of(world, "col:mood")
    with pytest.raises(
        ValueError, match=r"a multiclass column needs at least 3 distinct values, found \['0.25', '0.5'\]"
    ):
        load_msd({**world, "tasks": {"col:valence": {"kind": "multiclass"}}})
    single = {"lyrics": world["lyrics"], "track_h5": str(Path(world["track_h5"]) / "A")}
    with pytest.raises(ValueError, match=r"task 'term:rock': every labelled row has the same class"):
        labels_of(single, "term:rock")
    slug_table = tmp_path / "slugs.csv"
    slug_table.write_text("id,a b,a_b\nT1,1,2\n")
    with pytest.raises(ValueError, match=r"tasks 'col:a b' and 'col:a_b' share the file name 'col_a_b'"):
        load_msd(
            {
                **world,
                "tables": [{"path": str(slug_table), "id_column": "id"}],
                "tasks": ["col:a b", "col:a_b"],
            }
        )


def test_config_errors(world: dict) -> None:
    with pytest.raises(ValueError, match=r"data.msd: unknown key\(s\) lyric; allowed: lyrics,"):
        load_msd({"lyric": world["lyrics"], "tasks": ["year"]})
    with pytest.raises(ValueError, match=r"data.msd.lyrics: give at least one"):
        load_msd({"tasks": ["year"]})
    with pytest.raises(ValueError, match=r"data.msd.tasks: no task requested"):
        load_msd({**world, "tasks": []})
    with pytest.raises(ValueError, match=r"data.msd.tasks: expected a list of task names or a mapping"):
        load_msd({**world, "tasks": "year"})
    with pytest.raises(ValueError, match=r"data.msd.tasks.year: expected a mapping like"):
        load_msd({**world, "tasks": {"year": "regression"}})
    with pytest.raises(ValueError, match=r"data.msd.tasks.year: unknown key\(s\) kidn; only kind"):
        load_msd({**world, "tasks": {"year": {"kidn": "regression"}}})
    with pytest.raises(ValueError, match=r"data.msd.min_labelled: 0 must be at least 1"):
        load_msd({**world, "tasks": ["year"], "min_labelled": 0})
    with pytest.raises(ValueError, match=r"data.msd.tables\[0\]: needs path and id_column"):
        load_msd({**world, "tasks": ["year"], "tables": [{"path": "x.csv"}]})
    with pytest.raises(ValueError, match=r"artist_term_db needs each track's artist id"):
        load_msd(
            {"lyrics": world["lyrics"], "artist_term_db": world["artist_term_db"], "tasks": ["term:rock"]}
        )
    with pytest.raises(FileNotFoundError, match=r"nothere\.cls: tagtraum genre file not found"):
        load_msd({**world, "tagtraum": "nothere.cls", "tasks": ["year"]})


def test_relative_paths_resolve_against_the_working_directory(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(world["lyrics"][0]).parent
    monkeypatch.chdir(root)
    cfg = {"lyrics": ["mxm_dataset_train.txt"], "tagtraum": "msd_tagtraum_cd1.cls", "tasks": ["genre:Jazz"]}
    np.testing.assert_array_equal(load_msd(cfg).labels["genre:Jazz"], [0, 0, 1, 0, NAN, NAN])


def test_real_sample(msd_sample: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mtrl.data.msd")
    cfg = {
        "lyrics": [str(msd_sample / "mxm_dataset_train.txt"), str(msd_sample / "mxm_dataset_test.txt")],
        "track_h5": str(msd_sample / "h5"),
        "tagtraum": str(msd_sample / "msd_tagtraum_cd1.cls"),
        "year_by_mxm": str(msd_sample / "MSD_track_id_and_year.txt"),
        "tasks": ["year", "genre", "genre:Pop_Rock", "loudness", "term:new wave"],
    }
    d = load_msd(cfg)
    assert d.n_rows == 6440 and d.features.shape == (6440, 5000)
    # independent expectations from the plain text files
    mxm_of = {}
    for name in ("mxm_dataset_train.txt", "mxm_dataset_test.txt"):
        for line in (msd_sample / name).read_text().splitlines():
            if line and line[0] not in "#%":
                track, mxm_id = line.split(",")[:2]
                mxm_of[track] = mxm_id
    year_of = dict(
        line.split("\t") for line in (msd_sample / "MSD_track_id_and_year.txt").read_text().splitlines()
    )
    genre_of = {
        f[0]: f[1]
        for f in (line.split("\t") for line in (msd_sample / "msd_tagtraum_cd1.cls").read_text().splitlines())
    }
    expected_year = [float(year_of[mxm_of[t]]) if mxm_of[t] in year_of else NAN for t in d.ids]
    np.testing.assert_array_equal(d.labels["year"], expected_year)
    assert (
        int(np.count_nonzero(~np.isnan(d.labels["year"][94:]))) == 6082
    )  # PROVENANCE.md: test tracks with a year
    expected_pop = [float(genre_of[t] == "Pop_Rock") if t in genre_of else NAN for t in d.ids]
    np.testing.assert_array_equal(d.labels["genre:Pop_Rock"], expected_pop)
    assert d.task("genre").classes == tuple(sorted(set(genre_of.values())))
    assert int(np.count_nonzero(~np.isnan(d.labels["genre"][94:]))) == 2110  # PROVENANCE.md
    h5 = read_track_h5(msd_sample / "h5")
    rows = {t: i for i, t in enumerate(d.ids)}
    in_lyrics = [t for t in h5.index if t in rows]
    assert in_lyrics == ["TRAAABD128F429CF47", "TRAAAEF128F4273421", "TRAAAFD128F92F423A"]
    loud = d.labels["loudness"]
    assert np.count_nonzero(~np.isnan(loud)) == 3
    np.testing.assert_array_equal(loud[[rows[t] for t in in_lyrics]], [-9.843, -9.013, -4.501])
    np.testing.assert_array_equal(d.labels["term:new wave"][[rows[t] for t in in_lyrics]], [0, 1, 0])
    assert "disagree" not in caplog.text  # the h5 years equal those of the musiXmatch year file
