"""Fetching the official files: download, verify, unpack (a local HTTP server on 127.0.0.1 only)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import re
import sqlite3
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from mtrl.config import ConfigError, with_defaults
from mtrl.data import download as dl
from workflow import REPO, job_counts, snakemake, tiny, tiny_config

MXM_TEXT = (
    b"# TRAINING SET\n"
    b"# comment lines first\n"
    b"%i,the,you,to,and\n"
    b"TRAAAAV128F421A322,4623710,1:6,2:4,3:2,5:1\n"
    b"TRAAABD128F429CF47,6477168,1:10,3:17,4:8\n"
)
TAGTRAUM_TEXT = (
    b"# tagtraum genre annotations\nTRAAABD128F429CF47\tPop_Rock\nTRAAAED128E0783FAB\tJazz\tVocal\n"
)


def _sqlite_bytes() -> bytes:
    """A small, complete SQLite database of some pages (a songs table, as in track_metadata.db)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE songs (track_id TEXT PRIMARY KEY, year INTEGER)")
    rows = [(f"TR{i:016X}", 1950 + i % 60) for i in range(2000)]
    connection.executemany("INSERT INTO songs VALUES (?, ?)", rows)
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


SQLITE_BYTES = _sqlite_bytes()
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Page moved</title></head><body>Sorry</body></html>\n"


class _Handler(SimpleHTTPRequestHandler):
    """Serves the files of a folder; under /short/ it announces 1000 bytes more than it sends;
    under /cut/ it sends the first half, without a Content-Length, and closes the connection (a
    connection cut early that the client cannot tell from the end of the file)."""

    def do_GET(self):
        for prefix in ("/short/", "/cut/"):
            if self.path.startswith(prefix):
                return self._send_part(
                    (Path(self.directory) / self.path.removeprefix(prefix)).read_bytes(), prefix
                )
        return super().do_GET()

    def _send_part(self, body: bytes, prefix: str) -> None:
        self.send_response(200)
        if prefix == "/short/":
            self.send_header("Content-Length", str(len(body) + 1000))
        else:
            body = body[: len(body) // 2]
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    """Quiet about clients that hang up early (a download refused on its headers does)."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(folder the server serves, base URL)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    root = tmp_path / "served"
    root.mkdir()
    httpd = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "data" / "msd"
    folder.mkdir(parents=True)
    return folder


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _listing(folder: Path) -> list[str]:
    """Every entry of the folder, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


# --- download -----------------------------------------------------------------------------------


def test_good_zip_downloads_and_unpacks_with_exact_contents(server, out):
    root, base = server
    archive_bytes = _zip({"mxm_dataset_train.txt": MXM_TEXT})
    (root / "mxm_dataset_train.txt.zip").write_bytes(archive_bytes)
    dest = out / "mxm_dataset_train.txt.zip"
    expected = hashlib.sha256(archive_bytes).hexdigest()

    digest = dl.download(
        f"{base}/mxm_dataset_train.txt.zip", dest, expected_size=len(archive_bytes), kind="zip"
    )

    assert digest == expected
    assert dest.read_bytes() == archive_bytes
    # the sidecar, in sha256sum format, so that a later run can pin the value
    assert (
        out / "mxm_dataset_train.txt.zip.sha256"
    ).read_text() == f"{expected}  mxm_dataset_train.txt.zip\n"
    paths = dl.unpack(dest, out, members=["mxm_dataset_train.txt"], content="mxm")
    assert paths == [out / "mxm_dataset_train.txt"]
    assert paths[0].read_bytes() == MXM_TEXT
    assert _listing(out) == [
        "mxm_dataset_train.txt",
        "mxm_dataset_train.txt.zip",
        "mxm_dataset_train.txt.zip.sha256",
    ]


def test_pinned_sha256_that_matches_is_accepted_and_logged(server, out, caplog):
    root, base = server
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    pin = hashlib.sha256(SQLITE_BYTES).hexdigest()
    with caplog.at_level("INFO", logger="mtrl.data.download"):
        dl.download(f"{base}/track_metadata.db", out / "track_metadata.db", sha256=pin.upper(), kind="sqlite")
    assert (out / "track_metadata.db").read_bytes() == SQLITE_BYTES
    assert (out / "track_metadata.db.sha256").read_text().split() == [pin, "track_metadata.db"]
    assert f"sha256 {pin} as pinned" in caplog.text


def test_unpinned_download_logs_the_value_to_pin(server, out, caplog):
    root, base = server
    (root / "artist_term.db").write_bytes(SQLITE_BYTES)
    with caplog.at_level("INFO", logger="mtrl.data.download"):
        digest = dl.download(f"{base}/artist_term.db", out / "artist_term.db", kind="sqlite")
    assert f"not pinned; to pin it, add 'artist_term.db: {digest}' under download.sha256" in caplog.text


def test_wrong_sha256_fails_and_leaves_nothing(server, out):
    root, base = server
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    url = f"{base}/track_metadata.db"
    with pytest.raises(dl.DownloadError, match="sha256 mismatch") as err:
        dl.download(url, out / "track_metadata.db", sha256="0" * 64, kind="sqlite")
    assert url in str(err.value)
    assert hashlib.sha256(SQLITE_BYTES).hexdigest() in str(err.value)  # what it got, to compare
    assert _listing(out) == []  # neither the file, nor its sidecar, nor a temporary file


def test_failed_download_keeps_an_earlier_file(server, out):
    root, base = server
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    dest = out / "track_metadata.db"
    dest.write_bytes(b"the earlier, complete file")
    with pytest.raises(dl.DownloadError):
        dl.download(f"{base}/track_metadata.db", dest, sha256="f" * 64)
    assert dest.read_bytes() == b"the earlier, complete file"
    assert _listing(out) == ["track_metadata.db"]


def test_short_response_fails_clearly(server, out):
    root, base = server
    (root / "msd_summary_file.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(3000))
    url = f"{base}/short/msd_summary_file.h5"
    with pytest.raises(dl.DownloadError, match="short download") as err:
        dl.download(url, out / "msd_summary_file.h5", kind="hdf5")
    assert url in str(err.value)
    assert "3,008" in str(err.value) and "4,008" in str(err.value)  # received, announced
    assert _listing(out) == []


def test_size_other_than_expected_fails(server, out):
    root, base = server
    (root / "artist_term.db").write_bytes(SQLITE_BYTES)
    with pytest.raises(
        dl.DownloadError, match=f"announces {len(SQLITE_BYTES):,} bytes .* but 999 are expected"
    ):
        dl.download(f"{base}/artist_term.db", out / "artist_term.db", expected_size=999)
    assert _listing(out) == []


def test_http_404_names_the_url(server, out):
    _, base = server
    url = f"{base}/no_such_file.db"
    with pytest.raises(dl.DownloadError, match="HTTP error 404") as err:
        dl.download(url, out / "track_metadata.db")
    assert url in str(err.value)
    assert _listing(out) == []


def test_unreachable_server_names_the_url(out):
    with pytest.raises(dl.DownloadError, match=r"http://127\.0\.0\.1:9/x\.db: cannot download"):
        dl.download("http://127.0.0.1:9/x.db", out / "x.db", timeout=2)
    assert _listing(out) == []


def test_html_page_instead_of_sqlite_fails(server, out):
    root, base = server
    (root / "track_metadata.db").write_bytes(HTML_PAGE)
    url = f"{base}/track_metadata.db"
    with pytest.raises(dl.DownloadError, match="expected an SQLite database") as err:
        dl.download(url, out / "track_metadata.db", kind="sqlite")
    assert url in str(err.value) and "an HTML page" in str(err.value)
    assert _listing(out) == []


# --- incomplete downloads and sizes -------------------------------------------------------------


def _complete_file(kind: str, tmp_path: Path) -> bytes:
    """The bytes of a small, complete file of ``kind``."""
    if kind == "zip":
        return _zip({"mxm_dataset_train.txt": MXM_TEXT * 200})
    if kind == "sqlite":
        return SQLITE_BYTES
    return _h5(tmp_path / "complete.h5")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("mxm_dataset_train.txt.zip", "zip"), ("track_metadata.db", "sqlite"), ("msd_summary_file.h5", "hdf5")],
)
def test_connection_cut_early_without_content_length_is_refused(server, out, tmp_path, name, kind):
    root, base = server
    (root / name).write_bytes(_complete_file(kind, tmp_path))
    url = f"{base}/cut/{name}"  # half the file, no Content-Length, no size or sha256 known
    with pytest.raises(
        dl.DownloadError, match=r"that reads as a whole, but .*the download was cut short"
    ) as err:
        dl.download(url, out / name, kind=kind)
    assert url in str(err.value) and str(out / name) in str(err.value)
    assert _listing(out) == []  # neither the file, nor its sidecar, nor a temporary file


@pytest.mark.parametrize(
    ("name", "kind"),
    [("mxm_dataset_train.txt.zip", "zip"), ("track_metadata.db", "sqlite"), ("msd_summary_file.h5", "hdf5")],
)
def test_complete_official_file_passes(server, out, tmp_path, name, kind):
    root, base = server
    data = _complete_file(kind, tmp_path)
    (root / name).write_bytes(data)
    config = with_defaults(tiny(download={"mirror": base, "sizes": {name: len(data)}}))
    digest = dl.fetch_official(config, name, out / name)
    assert (out / name).read_bytes() == data
    assert (out / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    assert digest == hashlib.sha256(data).hexdigest()


def test_cut_connection_with_a_known_size_names_file_and_sizes(server, out):
    root, base = server
    (root / "artist_term.db").write_bytes(SQLITE_BYTES)
    n = len(SQLITE_BYTES)
    config = with_defaults(tiny(download={"mirror": f"{base}/cut", "sizes": {"artist_term.db": n}}))
    with pytest.raises(
        dl.DownloadError, match=f"received {n // 2:,} bytes, but exactly {n:,} are expected"
    ) as err:
        dl.fetch_official(config, "artist_term.db", out / "artist_term.db")
    assert str(out / "artist_term.db") in str(err.value)
    assert _listing(out) == []


def test_official_file_far_from_its_approximate_size_is_refused(server, out):
    root, base = server
    (root / "artist_term.db").write_bytes(SQLITE_BYTES)  # complete, but not the 130 MB official file
    config = with_defaults(tiny(download={"mirror": base}))
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch_official(config, "artist_term.db", out / "artist_term.db")
    message = str(err.value)
    assert str(out / "artist_term.db") in message
    assert f"received {len(SQLITE_BYTES):,} bytes, but about 130,000,000 are expected" in message
    assert "accepted: 43,333,333 to 390,000,000 bytes" in message and "download.sizes" in message
    assert _listing(out) == []


def test_approximate_size_is_checked_within_its_tolerance(server, out, monkeypatch):
    root, base = server
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    config = with_defaults(tiny(download={"mirror": base}))
    entry = dl.REGISTRY["track_metadata.db"]
    n = len(SQLITE_BYTES)
    for approx, kept in [(n * 2.9, True), (n / 2.9, True), (n * 3.1, False), (n / 3.1, False)]:
        monkeypatch.setitem(dl.REGISTRY, entry.name, dataclasses.replace(entry, approx_mb=approx / dl.MB))
        if kept:
            dl.fetch_official(config, entry.name, out / entry.name)
            assert (out / entry.name).read_bytes() == SQLITE_BYTES
        else:
            with pytest.raises(dl.DownloadError, match=r"but about .* are expected"):
                dl.fetch_official(config, entry.name, out / "other.db")
    assert dl.approx_size_bounds(300) == (100, 900)


def test_size_and_sha256_known_to_the_registry_are_checked(server, out, monkeypatch, caplog):
    root, base = server
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    config = with_defaults(tiny(download={"mirror": base}))
    entry = dl.REGISTRY["track_metadata.db"]
    monkeypatch.setitem(dl.REGISTRY, entry.name, dataclasses.replace(entry, size=len(SQLITE_BYTES) + 1))
    with pytest.raises(dl.DownloadError, match=f"but {len(SQLITE_BYTES) + 1:,} are expected"):
        dl.fetch_official(config, entry.name, out / entry.name)
    assert _listing(out) == []
    pin = hashlib.sha256(SQLITE_BYTES).hexdigest()
    monkeypatch.setitem(dl.REGISTRY, entry.name, dataclasses.replace(entry, sha256=pin))
    with caplog.at_level("INFO", logger="mtrl.data.download"):
        dl.fetch_official(config, entry.name, out / entry.name)  # a sha256 replaces the rough size
    assert f"sha256 {pin} as pinned" in caplog.text


def test_settings_give_the_exact_size_and_sha256_else_the_approximate_size():
    pin = "ab" * 32
    s = dl.settings(
        with_defaults(tiny(download={"sizes": {"artist_term.db": 123}, "sha256": {"track_metadata.db": pin}}))
    )
    assert (s.expected_size("artist_term.db"), s.approx_size("artist_term.db")) == (123, None)
    assert (s.expected_sha256("track_metadata.db"), s.approx_size("track_metadata.db")) == (pin, None)
    assert s.expected_size("msd_summary_file.h5") is None and s.expected_sha256("msd_summary_file.h5") is None
    assert s.approx_size("msd_summary_file.h5") == 300_000_000
    with pytest.raises(ConfigError, match=re.escape("download.sizes.artist_term.db: 0 is less than")):
        with_defaults(tiny(download={"sizes": {"artist_term.db": 0}}))


# --- unpack -------------------------------------------------------------------------------------


def test_truncated_zip_fails(out):
    archive = out / "mxm_dataset_test.txt.zip"
    archive.write_bytes(_zip({"mxm_dataset_test.txt": MXM_TEXT})[:-30])
    with pytest.raises(dl.DownloadError, match="not a valid zip archive") as err:
        dl.unpack(archive, out, members=["mxm_dataset_test.txt"], content="mxm")
    assert str(archive) in str(err.value)
    assert _listing(out) == ["mxm_dataset_test.txt.zip"]


def test_zip_with_a_corrupt_member_fails_its_crc_check(out):
    data = _zip({"mxm_dataset_test.txt": MXM_TEXT}, compression=zipfile.ZIP_STORED)
    at = data.index(b"TRAAABD128F429CF47")
    archive = out / "mxm_dataset_test.txt.zip"
    archive.write_bytes(data[:at] + b"X" + data[at + 1 :])  # same length, one byte changed
    with pytest.raises(dl.DownloadError, match=re.escape("'mxm_dataset_test.txt' fails its CRC check")):
        dl.unpack(archive, out, members=["mxm_dataset_test.txt"], content="mxm")
    assert _listing(out) == ["mxm_dataset_test.txt.zip"]


def test_wrong_member_content_leaves_no_member_behind(out):
    archive = out / "msd_tagtraum_cd1.cls.zip"
    archive.write_bytes(_zip({"msd_tagtraum_cd1.cls": TAGTRAUM_TEXT, "readme.txt": HTML_PAGE}))
    with pytest.raises(
        dl.DownloadError, match=re.escape("member 'readme.txt': expected a tagtraum genre file")
    ):
        dl.unpack(archive, out, content="tagtraum")
    assert _listing(out) == ["msd_tagtraum_cd1.cls.zip"]  # the good member was not kept either


def test_missing_member_lists_the_archive(out):
    archive = out / "mxm_dataset_train.txt.zip"
    archive.write_bytes(_zip({"other.txt": MXM_TEXT}))
    with pytest.raises(
        dl.DownloadError, match=r"no member 'mxm_dataset_train.txt' \(the archive holds other.txt\)"
    ):
        dl.unpack(archive, out, members=["mxm_dataset_train.txt"])


def test_member_in_a_folder_lands_under_its_base_name(out):
    archive = out / "msd_tagtraum_cd1.cls.zip"
    archive.write_bytes(_zip({"genres/msd_tagtraum_cd1.cls": TAGTRAUM_TEXT}))
    assert dl.unpack(archive, out, members=["msd_tagtraum_cd1.cls"], content="tagtraum") == [
        out / "msd_tagtraum_cd1.cls"
    ]
    assert (out / "msd_tagtraum_cd1.cls").read_bytes() == TAGTRAUM_TEXT


# --- content checks -----------------------------------------------------------------------------


def _h5(path: Path) -> bytes:
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("kind", "good", "bad", "message"),
    [
        ("sqlite", SQLITE_BYTES, HTML_PAGE, "an HTML page"),
        ("hdf5", None, SQLITE_BYTES, "b'SQLite format 3"),
        ("mxm", MXM_TEXT, b"# comments only\nTRAAAAV128F421A322,4623710,1:6\n", "b'# comments only"),
        ("tagtraum", TAGTRAUM_TEXT, b"TRAAABD128F429CF47,Pop_Rock\n", "TRAAABD128F429CF47,Pop_Rock"),
        ("tagtraum", TAGTRAUM_TEXT, b"", "nothing (the file is empty)"),
        ("zip", _zip({"a": b"a"}), MXM_TEXT, "expected a zip archive"),
    ],
)
def test_content_check(tmp_path, kind, good, bad, message):
    good_path, bad_path = tmp_path / "good", tmp_path / "bad"
    if good is None:
        _h5(good_path)
    else:
        good_path.write_bytes(good)
    dl.check_content(good_path, kind)
    bad_path.write_bytes(bad)
    with pytest.raises(dl.DownloadError, match="expected") as err:
        dl.check_content(bad_path, kind)
    assert message in str(err.value) and str(bad_path) in str(err.value)


@pytest.mark.parametrize("kind", ["zip", "sqlite", "hdf5"])
def test_content_check_refuses_a_file_cut_short(tmp_path, kind):
    data = _complete_file(kind, tmp_path)
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(data[: len(data) * 3 // 4])  # it starts right, but ends early
    with pytest.raises(dl.DownloadError, match="that reads as a whole") as err:
        dl.check_content(path, kind)
    assert str(path) in str(err.value)


def test_hdf5_signature_after_a_user_block(tmp_path):
    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["x"] = np.arange(3)
    assert not path.read_bytes().startswith(b"\x89HDF")
    dl.check_content(path, "hdf5")


# --- settings and the workflow --------------------------------------------------------------------


def test_registry_urls_are_the_official_addresses():
    for entry in dl.REGISTRY.values():
        assert entry.url.rsplit("/", 1)[1] == entry.name
        assert entry.url.startswith(
            (
                "http://millionsongdataset.com/sites/default/files/AdditionalFiles/",
                "http://www.tagtraum.com/genres/",
            )
        )
        assert entry.kind == ("zip" if entry.unpacks_to else entry.content)
    assert set(dl.ARCHIVES) == {"mxm_dataset_train.txt", "mxm_dataset_test.txt", "msd_tagtraum_cd1.cls"}


def test_schema_knows_the_registry():
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    section = schema["properties"]["download"]["properties"]
    assert section["files"]["items"]["enum"] == list(dl.REGISTRY)
    assert section["sha256"]["propertyNames"]["enum"] == list(dl.REGISTRY)
    assert section["sizes"]["propertyNames"]["enum"] == list(dl.REGISTRY)
    assert set(section) == {"enabled", "dir", "files", "sha256", "sizes", "timeout_s", "mirror"}


def test_schema_checks_names_and_pins():
    with pytest.raises(ConfigError, match=re.escape("download.files.0: 'lastfm.db' is not one of")):
        with_defaults(tiny(download={"files": ["lastfm.db"]}))
    with pytest.raises(ConfigError, match=re.escape("download.sha256.artist_term.db: 'abc' does not match")):
        with_defaults(tiny(download={"sha256": {"artist_term.db": "abc"}}))
    with pytest.raises(ConfigError, match=re.escape("download.sha256: 'lastfm.db' is not one of")):
        with_defaults(tiny(download={"sha256": {"lastfm.db": "a" * 64}}))


def test_settings_of_a_config_with_defaults():
    assert dl.targets(with_defaults(tiny())) == []  # off by default
    defaults = dl.settings(with_defaults(tiny()))
    assert defaults == dl.Settings(False, "data/msd", tuple(dl.REGISTRY), {}, 60.0, None)
    pinned = dl.settings(with_defaults(tiny(download={"sha256": {"artist_term.db": "AB" * 32}, "dir": "x/"})))
    assert pinned.sha256 == {"artist_term.db": "ab" * 32} and pinned.dir == "x"


def test_targets_and_study_inputs():
    config = with_defaults(
        tiny(
            download={
                "enabled": True,
                "dir": "data/msd/",
                "files": ["artist_term.db", "mxm_dataset_test.txt.zip"],
            },
            data={
                "source": "msd",
                "split": {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 0},
                "msd": {
                    "lyrics": ["./data/msd/mxm_dataset_train.txt", "elsewhere/mxm_dataset_test.txt"],
                    "summary_h5": "data/msd/msd_summary_file.h5",
                    "tagtraum": None,
                },
            },
        )
    )
    assert dl.study_inputs(config) == ["data/msd/mxm_dataset_train.txt", "data/msd/msd_summary_file.h5"]
    assert dl.targets(config) == [
        "data/msd/artist_term.db",
        "data/msd/mxm_dataset_test.txt",
        "data/msd/mxm_dataset_train.txt",
        "data/msd/msd_summary_file.h5",
    ]


@pytest.mark.workflow
def test_msd_full_dry_run_lists_the_downloads(tmp_path):
    # --forceall: the count does not depend on what data/msd already holds
    out = snakemake(
        "-n", "--forceall", "--cores", "2", "--configfile", "configs/msd-full.yaml",
        "--config", f"results={tmp_path}/results",
    ).stdout  # fmt: skip
    counts = job_counts(out)
    assert counts["download_msd"] == len(dl.REGISTRY)
    assert counts["unpack_msd"] == len(dl.ARCHIVES)
    assert "data/msd/track_metadata.db.sha256" in out
    # prepare_data waits for the files data.msd points at
    target = f"{tmp_path}/results/data/prepared.h5"
    counts = job_counts(
        snakemake(target, "-n", "--forceall", "--cores", "2", "--configfile", "configs/msd-full.yaml",
                  "--config", f"results={tmp_path}/results").stdout
    )  # fmt: skip
    assert counts == {"download_msd": 6, "unpack_msd": 3, "prepare_data": 1, "total": 10}


@pytest.mark.workflow
def test_default_config_downloads_nothing(tmp_path):
    out = snakemake("-n", "--forceall", "--cores", "2", "--config", f"results={tmp_path}/results").stdout
    assert "download_msd" not in job_counts(out) and "unpack_msd" not in out


@pytest.mark.workflow
def test_rules_fetch_verify_and_unpack_from_a_mirror(server, tmp_path):
    root, base = server
    (root / "mxm_dataset_train.txt.zip").write_bytes(_zip({"mxm_dataset_train.txt": MXM_TEXT}))
    (root / "track_metadata.db").write_bytes(SQLITE_BYTES)
    (root / "artist_term.db").write_bytes(HTML_PAGE)
    folder = tmp_path / "msd"
    # the exact sizes of these small stand-ins; the official files' rough sizes would refuse them
    sizes = {
        name: (root / name).stat().st_size for name in ("mxm_dataset_train.txt.zip", "track_metadata.db")
    }
    config = tiny_config(tmp_path, download={"dir": str(folder), "mirror": base, "sizes": sizes})
    wanted = [folder / "mxm_dataset_train.txt", folder / "track_metadata.db"]
    snakemake(*map(str, wanted), "--cores", "1", "--configfile", str(config))
    assert wanted[0].read_bytes() == MXM_TEXT and wanted[1].read_bytes() == SQLITE_BYTES
    assert (folder / "track_metadata.db.sha256").read_text().split()[0] == hashlib.sha256(
        SQLITE_BYTES
    ).hexdigest()
    assert (folder / "mxm_dataset_train.txt.zip.sha256").is_file()
    log = (tmp_path / "results/logs/download_msd/track_metadata.db.log").read_text()
    assert f"{base}/track_metadata.db" in log and "not pinned" in log
    # an HTML page instead of the database: the job fails, names the URL, and leaves no file
    proc = snakemake(str(folder / "artist_term.db"), "--cores", "1", "--configfile", str(config), check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/download_msd/artist_term.db.log").read_text()
    assert f"{base}/artist_term.db" in log and "expected an SQLite database" in log
    assert not (folder / "artist_term.db").exists() and not (folder / "artist_term.db.sha256").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left
    # a complete HDF5 file, but nowhere near the official file's rough size: refused, named, not kept
    (root / "msd_summary_file.h5").write_bytes(_h5(tmp_path / "small.h5"))
    proc = snakemake(
        str(folder / "msd_summary_file.h5"), "--cores", "1", "--configfile", str(config), check=False
    )
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/download_msd/msd_summary_file.h5.log").read_text()
    assert "msd_summary_file.h5" in log and "but about 300,000,000 are expected" in log
    assert not (folder / "msd_summary_file.h5").exists()
    assert not (folder / "msd_summary_file.h5.sha256").exists()
