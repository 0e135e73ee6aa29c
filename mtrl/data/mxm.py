"""Reader of the official musiXmatch bag-of-words lyrics files (``mxm_dataset_{train,test}.txt``).

Format: ``#`` comment lines, exactly one ``%`` line with the comma-separated vocabulary (5,000
words), then one line per track ``TRACK_ID,MXM_TID,idx:count,idx:count,...`` with 1-based word
indices. Blank lines are skipped and the MXM_TID field may be empty; a leading UTF-8 byte-order
mark is dropped, and a binary file (e.g. the zip still packed) is called binary.

The file is read in large chunks; each chunk's ``idx:count`` pairs are validated per line with one
compiled regular expression and converted to numbers by numpy in a single call, so no Python
object is made per token. The full official train file (about 210,000 tracks) parses in a few
seconds (see ``benchmarks/bench_prepare.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import scipy.sparse as sp

from mtrl.data.text_files import binary_message, strip_bom

CHUNK_BYTES = 8 << 20
_PAIRS = re.compile(rb"[0-9]{1,9}:[0-9]{1,9}(?:,[0-9]{1,9}:[0-9]{1,9})*")  # 9 digits fit int32
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_COUNT = 10**9 - 1  # the fast check admits at most 9 digits


class MxmFormatError(ValueError):
    """A musiXmatch file is missing, unreadable or does not follow the official format."""


@dataclass
class MxmLyrics:
    """Bag-of-words lyrics: one CSR row of float32 word counts per track."""

    track_ids: np.ndarray  # object array of str (MSD track ids)
    mxm_ids: np.ndarray  # object array of str ('' where the file leaves the field empty)
    counts: sp.csr_matrix  # (n_tracks, n_words) float32
    vocabulary: list[str]

    @property
    def n_tracks(self) -> int:
        return self.counts.shape[0]


@dataclass
class _FileParse:
    path: str
    vocabulary: list[str]
    track_ids: list[str]
    mxm_ids: list[str]
    line_numbers: np.ndarray
    indices: np.ndarray  # 0-based, int32
    counts: np.ndarray  # float32
    indptr: np.ndarray  # int64


def _fail(path: str, line: int | None, message: str) -> MxmFormatError:
    where = f"{path}, line {line}" if line is not None else path
    return MxmFormatError(f"{where}: {message}")


def _decode(raw: bytes, path: str, line: int, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, line, f"{what} is not valid UTF-8 ({exc.reason})") from None


def _parse_vocabulary(raw: bytes, path: str, line: int) -> list[str]:
    words = _decode(raw[1:].rstrip(b"\r\n"), path, line, "the % vocabulary line").split(",")
    if any(not w for w in words):
        raise _fail(path, line, "the % vocabulary line has an empty word (expected %word1,word2,...)")
    if len(set(words)) != len(words):
        seen: set[str] = set()
        dup = next(w for w in words if w in seen or seen.add(w))  # type: ignore[func-returns-value]
        raise _fail(path, line, f"the % vocabulary line repeats the word {dup!r}")
    return words


def _diagnose_pairs(rest: bytes, path: str, line: int, n_words: int) -> MxmFormatError:
    """A precise error for a line whose ``idx:count`` part failed the fast check."""
    text = rest.decode("utf-8", errors="replace")
    expected = "expected TRACK_ID,MXM_TID,idx:count[,idx:count...]"
    if not text:
        return _fail(path, line, f"no idx:count pairs ({expected})")
    for k, pair in enumerate(text.split(","), start=1):
        parts = pair.split(":")
        if len(parts) != 2:
            return _fail(path, line, f"pair {k} {pair!r} is not idx:count ({expected})")
        for what, value in zip(("word index", "count"), parts, strict=True):
            if _INTEGER.fullmatch(value) is None:
                return _fail(path, line, f"pair {k} {pair!r}: {what} {value!r} is not an integer")
            number = int(value)
            if what == "word index" and not 1 <= number <= n_words:
                return _fail(path, line, f"pair {k} {pair!r}: word index {number} outside 1..{n_words}")
            if what == "count" and number < 1:
                return _fail(path, line, f"pair {k} {pair!r}: count {number} is below 1")
            if what == "count" and number > _MAX_COUNT:
                return _fail(path, line, f"pair {k} {pair!r}: count {number} exceeds {_MAX_COUNT}")
    return _fail(path, line, f"malformed idx:count list ({expected})")


def _line_chunks(handle: BinaryIO, path: str) -> Iterator[list[bytes]]:
    """The file's lines (without their newline), about :data:`CHUNK_BYTES` at a time.

    A leading byte-order mark is dropped; a binary file raises :class:`MxmFormatError`.
    """
    leftover = b""
    first = True
    while True:
        try:
            block = handle.read(CHUNK_BYTES)
        except OSError as exc:
            raise _fail(path, None, f"cannot read the lyrics file ({exc.strerror or exc})") from exc
        if first:
            first = False
            binary = binary_message(block, "musiXmatch lyrics")
            if binary is not None:
                raise _fail(path, None, binary)
            block = strip_bom(block)
        if not block:
            if leftover:
                yield [leftover]
            return
        block = leftover + block
        cut = block.rfind(b"\n")
        if cut < 0:
            leftover = block
            continue
        yield block[:cut].split(b"\n")
        leftover = block[cut + 1 :]


@dataclass
class _FileParser:
    """The state of one file's parse: the vocabulary, and the track lines read so far."""

    path: str
    vocabulary: list[str] | None = None
    vocab_line: int = 0
    line_no: int = 0
    track_ids: list[str] = field(default_factory=list)
    mxm_ids: list[str] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    index_parts: list[np.ndarray] = field(default_factory=list)
    count_parts: list[np.ndarray] = field(default_factory=list)
    pairs_per_row: list[int] = field(default_factory=list)

    def add_lines(self, lines: list[bytes]) -> None:
        """Parse the next lines; their ``idx:count`` pairs become numbers in one numpy call."""
        rests = [rest for raw in lines if (rest := self._line(raw)) is not None]
        if rests:
            numbers = np.fromstring(b",".join(rests).replace(b":", b","), dtype=np.int32, sep=",")
            self.index_parts.append(numbers[0::2])
            self.count_parts.append(numbers[1::2])

    def _line(self, raw: bytes) -> bytes | None:
        """Take in one line; the ``idx:count`` part of a track line, None for any other line."""
        self.line_no += 1
        path, line_no = self.path, self.line_no
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw.strip() or raw.startswith(b"#"):
            return None
        if raw.startswith(b"%"):
            if self.vocabulary is not None:
                raise _fail(
                    path, line_no, f"a second % vocabulary line (the first is line {self.vocab_line})"
                )
            self.vocabulary = _parse_vocabulary(raw, path, line_no)
            self.vocab_line = line_no
            return None
        if self.vocabulary is None:
            raise _fail(path, line_no, "a track line before the % vocabulary line")
        fields = raw.split(b",", 2)
        if len(fields) < 3 or not fields[0].strip():
            raise _fail(path, line_no, "malformed line (expected TRACK_ID,MXM_TID,idx:count[,idx:count...])")
        rest = fields[2]
        if _PAIRS.fullmatch(rest) is None:
            raise _diagnose_pairs(rest, path, line_no, len(self.vocabulary))
        self.track_ids.append(_decode(fields[0].strip(), path, line_no, "the track id"))
        self.mxm_ids.append(_decode(fields[1].strip(), path, line_no, "the musiXmatch id"))
        self.line_numbers.append(line_no)
        self.pairs_per_row.append(rest.count(b":"))
        return rest

    def finish(self) -> _FileParse:
        """The file's CSR parts, once every value is checked."""
        if self.vocabulary is None:
            raise _fail(self.path, None, "no % vocabulary line (expected one line '%word1,word2,...')")
        lines_arr = np.asarray(self.line_numbers, dtype=np.int64)
        indptr = np.zeros(len(self.track_ids) + 1, dtype=np.int64)
        np.cumsum(np.asarray(self.pairs_per_row, dtype=np.int64), out=indptr[1:])
        indices = np.concatenate(self.index_parts) if self.index_parts else np.zeros(0, np.int32)
        counts = np.concatenate(self.count_parts) if self.count_parts else np.zeros(0, np.int32)
        self.index_parts, self.count_parts = [], []
        _check_values(self.path, indices, counts, indptr, lines_arr, len(self.vocabulary))
        return _FileParse(
            path=self.path,
            vocabulary=self.vocabulary,
            track_ids=self.track_ids,
            mxm_ids=self.mxm_ids,
            line_numbers=lines_arr,
            indices=np.subtract(indices, 1, out=indices),
            counts=counts.astype(np.float32),
            indptr=indptr,
        )


def _parse_file(path: str) -> _FileParse:
    """Parse one file into CSR parts (see the module docstring for the format)."""
    parser = _FileParser(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, errors mapped to MxmFormatError
    except OSError as exc:
        raise _fail(path, None, f"cannot open the lyrics file ({exc.strerror or exc})") from exc
    with handle:
        for lines in _line_chunks(handle, path):
            parser.add_lines(lines)
    return parser.finish()


def _check_values(
    path: str, indices: np.ndarray, counts: np.ndarray, indptr: np.ndarray, lines: np.ndarray, n_words: int
) -> None:
    """Word indices in 1..n_words, counts >= 1, no word twice in a track (vectorised)."""

    def line_of(position: int) -> int:
        return int(lines[np.searchsorted(indptr, position, side="right") - 1])

    bad = np.flatnonzero((indices < 1) | (indices > n_words))
    if bad.size:
        p = int(bad[0])
        raise _fail(path, line_of(p), f"word index {int(indices[p])} outside 1..{n_words}")
    bad = np.flatnonzero(counts < 1)
    if bad.size:
        p = int(bad[0])
        raise _fail(path, line_of(p), f"count {int(counts[p])} (word index {int(indices[p])}) is below 1")
    if indices.size < 2:
        return
    same_row = np.ones(indices.size - 1, dtype=bool)
    same_row[indptr[1:-1] - 1] = False  # every track has at least one pair, so row starts are >= 1
    step = np.diff(indices)
    if not np.any(same_row & (step <= 0)):
        return  # the official files list each track's words in increasing order
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.lexsort((indices, rows))
    dup = np.flatnonzero((np.diff(rows[order]) == 0) & (np.diff(indices[order]) == 0))
    if dup.size:
        p = int(order[dup[0]])
        raise _fail(path, line_of(p), f"word index {int(indices[p])} occurs twice in the track")


def read_mxm(paths: Sequence[str | os.PathLike] | str | os.PathLike) -> MxmLyrics:
    """Read and merge musiXmatch lyric files (rows in file order, then line order).

    All files must share the same vocabulary and no track id may occur twice, within or across
    files. Raises :class:`MxmFormatError` naming the file and line of the first problem.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    if not paths:
        raise MxmFormatError("no musiXmatch lyrics file given")
    parsed = [_parse_file(os.fspath(p)) for p in paths]
    first = parsed[0]
    for other in parsed[1:]:
        if other.vocabulary != first.vocabulary:
            diff = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(first.vocabulary, other.vocabulary, strict=False))
                    if a != b
                ),
                min(len(first.vocabulary), len(other.vocabulary)),
            )
            raise MxmFormatError(
                f"{other.path}: its % vocabulary ({len(other.vocabulary)} words) differs from that of "
                f"{first.path} ({len(first.vocabulary)} words), first at word {diff + 1}"
            )
    track_ids = np.array([t for p in parsed for t in p.track_ids], dtype=object)
    _check_unique(track_ids, parsed)
    offsets = np.cumsum([0] + [len(p.indices) for p in parsed])
    indptr = _concat(
        [parsed[0].indptr[:1]] + [p.indptr[1:] + off for p, off in zip(parsed, offsets, strict=False)]
    )
    counts = sp.csr_matrix(
        (
            _concat([p.counts for p in parsed]),
            _concat([p.indices for p in parsed]),
            indptr,
        ),
        shape=(len(track_ids), len(first.vocabulary)),
    )
    counts.sort_indices()
    return MxmLyrics(
        track_ids=track_ids,
        mxm_ids=np.array([m for p in parsed for m in p.mxm_ids], dtype=object),
        counts=counts,
        vocabulary=list(first.vocabulary),
    )


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate`` without the copy for a single array."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _check_unique(track_ids: np.ndarray, parsed: list[_FileParse]) -> None:
    if not len(track_ids):
        return
    fixed = track_ids.astype(str)
    _, first_index, counts = np.unique(fixed, return_index=True, return_counts=True)
    if np.all(counts == 1):
        return
    where = [(p.path, int(line)) for p in parsed for line in p.line_numbers]
    dup_id = fixed[first_index[counts > 1]]
    positions = np.flatnonzero(np.isin(fixed, dup_id))
    # the first repeated occurrence in reading order
    seen: dict[str, int] = {}
    for pos in positions:
        tid = str(fixed[pos])
        if tid in seen:
            a, b = where[seen[tid]], where[pos]
            raise MxmFormatError(
                f"{b[0]}, line {b[1]}: duplicate track id {tid!r} (first at {a[0]}, line {a[1]})"
            )
        seen[tid] = int(pos)
