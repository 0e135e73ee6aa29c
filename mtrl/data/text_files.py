"""What every text reader of mtrl does with the start of a file: a byte-order mark, a binary file.

A UTF-8 byte-order mark (``EF BB BF``, written by some editors and by Excel's "CSV UTF-8") is
dropped, so that a file loads the same with and without it. A file that is no text at all (a
compressed archive, an HDF5 or SQLite file given where text is expected) is recognised from its
first bytes and called binary, instead of failing later on a misleading line.
"""

from __future__ import annotations

UTF8_BOM = b"\xef\xbb\xbf"
#: Bytes from the start of a file that tell text from binary.
HEAD_BYTES = 8192

_UNPACK = "unpack it first"
_CHECK_PATH = "check the path"
# leading bytes -> (what the file is, what to do)
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed", _UNPACK),
    (b"PK\x03\x04", "a zip archive", _UNPACK),
    (b"\xfd7zXZ\x00", "xz-compressed", _UNPACK),
    (b"\x89HDF\r\n\x1a\n", "HDF5", _CHECK_PATH),
    (b"SQLite format 3\x00", "an SQLite database", _CHECK_PATH),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def binary_message(head: bytes, what: str) -> str | None:
    """Why a file starting with ``head`` is not ``what`` (e.g. "musiXmatch lyrics") text; None if it is.

    Known signatures are named (gzip, zip, xz, HDF5, SQLite); any other file with a NUL byte in its
    first :data:`HEAD_BYTES` bytes is "a binary file". UTF-16 text is told to be saved as UTF-8.
    """
    for signature, kind, advice in _SIGNATURES:
        if head.startswith(signature):
            return f"a binary file ({kind}), not {what} text; {advice}"
    if head.startswith(_UTF16_BOMS):
        return f"UTF-16 text, not UTF-8 {what} text; save it as UTF-8"
    if b"\x00" in head[:HEAD_BYTES]:
        return f"a binary file (it holds NUL bytes), not {what} text; {_CHECK_PATH}"
    return None


def strip_bom(raw: bytes) -> bytes:
    """``raw`` without a leading UTF-8 byte-order mark."""
    return raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw
