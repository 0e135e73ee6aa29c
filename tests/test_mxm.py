"""The musiXmatch lyrics reader: exact parsing, merging and every format error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mtrl.data import mxm
from mtrl.data.mxm import MxmFormatError, read_mxm

VOCAB = ["i", "the", "you", "to", "qué"]
HEADER = "# TRAINING SET\n# MusiXmatch dataset, the official lyrics dataset\n"


def write(path: Path, lines: list[str], vocab: list[str] = VOCAB, header: str = HEADER) -> Path:
    path.write_text(header + "%" + ",".join(vocab) + "\n" + "".join(line + "\n" for line in lines), "utf-8")
    return path


def naive_parse(paths: list[Path]) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    """An independent, slow reference parser (dense rows)."""
    ids, mxm_ids, rows, vocab = [], [], [], []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            if line.startswith("%"):
                vocab = line[1:].split(",")
            elif line and not line.startswith("#"):
                fields = line.split(",")
                row = np.zeros(len(vocab), np.float32)
                for pair in fields[2:]:
                    i, c = pair.split(":")
                    row[int(i) - 1] = int(c)
                ids.append(fields[0])
                mxm_ids.append(fields[1])
                rows.append(row)
    return ids, mxm_ids, np.array(rows), vocab


def test_parses_exact_values_with_comments_blank_lines_and_empty_mxm_id(tmp_path: Path) -> None:
    path = write(
        tmp_path / "train.txt",
        ["TRAAAAV128F421A322,4623710,1:6,2:4,5:2", "", "# a comment", "TRAAABD128F429CF47,,3:1,4:12"],
    )
    lyrics = read_mxm([path])
    assert lyrics.track_ids.dtype == object and lyrics.mxm_ids.dtype == object
    assert list(lyrics.track_ids) == ["TRAAAAV128F421A322", "TRAAABD128F429CF47"]
    assert list(lyrics.mxm_ids) == ["4623710", ""]
    assert lyrics.vocabulary == VOCAB
    assert isinstance(lyrics.counts, sp.csr_matrix) and lyrics.counts.dtype == np.float32
    assert lyrics.counts.shape == (2, 5) and lyrics.n_tracks == 2
    np.testing.assert_array_equal(lyrics.counts.toarray(), [[6, 4, 0, 0, 2], [0, 0, 1, 12, 0]])


def test_crlf_line_endings_missing_final_newline_and_single_path(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"# c\r\n%a,b,c\r\nTR1,7,1:2,3:1\r\nTR2,8,2:5")
    lyrics = read_mxm(path)
    assert list(lyrics.track_ids) == ["TR1", "TR2"] and list(lyrics.mxm_ids) == ["7", "8"]
    assert lyrics.vocabulary == ["a", "b", "c"]
    np.testing.assert_array_equal(lyrics.counts.toarray(), [[2, 0, 1], [0, 5, 0]])


def test_words_out_of_order_are_sorted_into_canonical_csr(tmp_path: Path) -> None:
    lyrics = read_mxm([write(tmp_path / "t.txt", ["TR1,1,4:3,1:2,2:7"])])
    assert lyrics.counts.has_canonical_format
    np.testing.assert_array_equal(lyrics.counts.toarray(), [[2, 7, 0, 3, 0]])


def test_small_chunks_give_the_same_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    lines = []
    for t in range(200):
        idx = np.sort(rng.choice(5, size=rng.integers(1, 6), replace=False)) + 1
        lines.append(f"TR{t:04d},{t}," + ",".join(f"{i}:{rng.integers(1, 30)}" for i in idx))
        if t % 17 == 0:
            lines.append("")
    path = write(tmp_path / "many.txt", lines)
    whole = read_mxm([path])
    monkeypatch.setattr(mxm, "CHUNK_BYTES", 37)
    chunked = read_mxm([path])
    ids, mxm_ids, dense, vocab = naive_parse([path])
    for lyrics in (whole, chunked):
        assert list(lyrics.track_ids) == ids and list(lyrics.mxm_ids) == mxm_ids
        assert lyrics.vocabulary == vocab
        np.testing.assert_array_equal(lyrics.counts.toarray(), dense)


def test_merges_files_in_order(tmp_path: Path) -> None:
    a = write(tmp_path / "train.txt", ["TR1,1,1:1", "TR2,2,2:2"])
    b = write(tmp_path / "test.txt", ["TR3,3,5:3"], header="# TESTING SET\n")
    lyrics = read_mxm([a, b])
    assert list(lyrics.track_ids) == ["TR1", "TR2", "TR3"]
    np.testing.assert_array_equal(
        lyrics.counts.toarray(), [[1, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 0, 0, 3]]
    )


def test_different_vocabularies_are_an_error(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", ["TR1,1,1:1"])
    b = write(tmp_path / "b.txt", ["TR2,2,1:1"], vocab=["i", "the", "yo", "to", "qué"])
    with pytest.raises(MxmFormatError, match=r"b\.txt.*differs from that of .*a\.txt.*first at word 3"):
        read_mxm([a, b])


def test_duplicate_track_id_within_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "d.txt", ["TR1,1,1:1", "TR2,2,1:1", "TR1,3,2:1"])
    with pytest.raises(
        MxmFormatError, match=r"d\.txt, line 6: duplicate track id 'TR1' \(first at .*d\.txt, line 4\)"
    ):
        read_mxm([path])


def test_duplicate_track_id_across_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", ["TR1,1,1:1", "TR2,2,1:1"])
    b = write(tmp_path / "b.txt", ["TR9,9,1:1", "TR2,5,1:1"])
    with pytest.raises(
        MxmFormatError, match=r"b\.txt, line 5: duplicate track id 'TR2' \(first at .*a\.txt, line 5\)"
    ):
        read_mxm([a, b])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("TR1", r"line 4: malformed line \(expected TRACK_ID,MXM_TID,idx:count"),
        ("TR1,5", r"line 4: malformed line"),
        (",5,1:1", r"line 4: malformed line"),
        ("TR1,5,", r"line 4: no idx:count pairs"),
        ("TR1,5,3", r"line 4: pair 1 '3' is not idx:count"),
        ("TR1,5,1:2,", r"line 4: pair 2 '' is not idx:count"),
        ("TR1,5,1:2:3", r"line 4: pair 1 '1:2:3' is not idx:count"),
        ("TR1,5,a:2", r"line 4: pair 1 'a:2': word index 'a' is not an integer"),
        ("TR1,5,1:2,2:1.5", r"line 4: pair 2 '2:1.5': count '1.5' is not an integer"),
        ("TR1,5,1: 2", r"line 4: pair 1 '1: 2': count ' 2' is not an integer"),
        ("TR1,5,-1:2", r"line 4: pair 1 '-1:2': word index -1 outside 1\.\.5"),
        ("TR1,5,0:2", r"line 4: word index 0 outside 1\.\.5"),
        ("TR1,5,1:1,6:2", r"line 4: word index 6 outside 1\.\.5"),
        ("TR1,5,1:0", r"line 4: count 0 \(word index 1\) is below 1"),
        ("TR1,5,1:-3", r"line 4: pair 1 '1:-3': count -3 is below 1"),
        ("TR1,5,1:12345678901", r"line 4: pair 1 '1:12345678901': count 12345678901 exceeds"),
        ("TR1,5,2:1,3:4,2:2", r"line 4: word index 2 occurs twice in the track"),
    ],
)
def test_malformed_lines_name_file_line_and_value(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "bad.txt", [line])
    with pytest.raises(MxmFormatError, match=message) as info:
        read_mxm([path])
    assert str(info.value).startswith(f"{path}, line 4:")


def test_error_line_is_that_of_the_offending_track(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", ["TR1,1,1:1", "", "TR2,2,2:3,5:1", "TR3,3,1:1,9:2", "TR4,4,1:1"])
    with pytest.raises(MxmFormatError, match=r"bad\.txt, line 7: word index 9 outside 1\.\.5"):
        read_mxm([path])
    path = write(tmp_path / "bad2.txt", ["TR1,1,1:1", "TR2,2,2:3,5:1", "TR3,3,1:1,3:2", "TR4,4,1:1,4:0"])
    with pytest.raises(MxmFormatError, match=r"bad2\.txt, line 7: count 0 \(word index 4\)"):
        read_mxm([path])


def test_vocabulary_line_errors(tmp_path: Path) -> None:
    missing = tmp_path / "novocab.txt"
    missing.write_text("# comment only\n")
    with pytest.raises(MxmFormatError, match=r"novocab\.txt: no % vocabulary line"):
        read_mxm([missing])
    early = tmp_path / "early.txt"
    early.write_text("# c\nTR1,1,1:1\n%a,b\n")
    with pytest.raises(
        MxmFormatError, match=r"early\.txt, line 2: a track line before the % vocabulary line"
    ):
        read_mxm([early])
    twice = tmp_path / "twice.txt"
    twice.write_text("%a,b\nTR1,1,1:1\n%a,b\n")
    with pytest.raises(
        MxmFormatError, match=r"twice\.txt, line 3: a second % vocabulary line \(the first is line 1\)"
    ):
        read_mxm([twice])
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("%a,b,a\n")
    with pytest.raises(MxmFormatError, match=r"repeated\.txt, line 1: .* repeats the word 'a'"):
        read_mxm([repeated])
    empty_word = tmp_path / "emptyword.txt"
    empty_word.write_text("%a,,b\n")
    with pytest.raises(MxmFormatError, match=r"emptyword\.txt, line 1: .*empty word"):
        read_mxm([empty_word])


def test_missing_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(MxmFormatError, match=r"nothere\.txt: cannot open the lyrics file"):
        read_mxm([tmp_path / "nothere.txt"])
    with pytest.raises(
        MxmFormatError, match=rf"{re.escape(str(tmp_path))}: cannot (open|read) the lyrics file"
    ):
        read_mxm([tmp_path])
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"%a,b\nTR\xe91,1,1:1\n")
    with pytest.raises(MxmFormatError, match=r"latin1\.txt, line 2: the track id is not valid UTF-8"):
        read_mxm([bad])
    with pytest.raises(MxmFormatError, match="no musiXmatch lyrics file"):
        read_mxm([])


def test_a_file_without_tracks_gives_an_empty_matrix(tmp_path: Path) -> None:
    lyrics = read_mxm([write(tmp_path / "empty.txt", [])])
    assert lyrics.counts.shape == (0, 5) and len(lyrics.track_ids) == 0


def test_real_sample_matches_a_reference_parse(msd_sample: Path) -> None:
    paths = [msd_sample / "mxm_dataset_train.txt", msd_sample / "mxm_dataset_test.txt"]
    lyrics = read_mxm(paths)
    ids, mxm_ids, dense, vocab = naive_parse(paths)
    assert lyrics.counts.shape == (94 + 6346, 5000)
    assert len(vocab) == 5000 and lyrics.vocabulary == vocab and vocab[:3] == ["i", "the", "you"]
    assert list(lyrics.track_ids) == ids and list(lyrics.mxm_ids) == mxm_ids
    assert lyrics.track_ids[0] == "TRAAAAV128F421A322" and lyrics.mxm_ids[0] == "4623710"
    assert lyrics.counts.nnz == np.count_nonzero(dense) == 518229
    np.testing.assert_array_equal(lyrics.counts.toarray(), dense)
