"""The official Million Song Dataset / musiXmatch / tagtraum files that ``data.msd`` can point at.

:data:`REGISTRY` lists them keyed by the name they are served under, :data:`BY_PATH_NAME` by the
name of the file ``data.msd`` points at (the zip member, or the download itself) and
:data:`ARCHIVES` the zip archives among them, keyed by the member they unpack to.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtrl.data.download_checks import MB

MSD_ADDITIONAL_FILES = "http://millionsongdataset.com/sites/default/files/AdditionalFiles"
TAGTRAUM_GENRES = "http://www.tagtraum.com/genres"


@dataclass(frozen=True)
class OfficialFile:
    """One official file: where it is served, what it unpacks to and what it gives the study.

    ``kind`` is the content of the downloaded file (``zip``, ``sqlite``, ``hdf5``); ``unpacks_to``
    the zip member that ``data.msd`` points at (None: the download is used as it is) and
    ``content`` that file's kind (``mxm``, ``tagtraum``, ``sqlite``, ``hdf5``).

    ``size`` (bytes) and ``sha256`` are the official file's exact byte count and checksum, each
    checked when known. None is known yet: the files could not be fetched where this registry was
    written, and a value is entered here only once read off the official file, never guessed.
    Until then ``approx_mb``, the rough download size in MB (10^6 bytes), is checked within a
    factor of :data:`~mtrl.data.download_checks.APPROX_SIZE_FACTOR` either way, and the config's
    ``download.sizes`` and ``download.sha256`` pin exact values.
    """

    name: str
    url: str
    kind: str
    content: str
    config_key: str
    approx_mb: float
    tasks: str
    unpacks_to: str | None = None
    size: int | None = None
    sha256: str | None = None

    @property
    def approx_bytes(self) -> int:
        """``approx_mb`` in bytes."""
        return round(self.approx_mb * MB)

    @property
    def path_name(self) -> str:
        """The name of the file ``data.msd`` points at (the zip member, or the download itself)."""
        return self.unpacks_to or self.name


_REGISTRY_FILES = (
    OfficialFile(
        name="mxm_dataset_train.txt.zip",
        url=f"{MSD_ADDITIONAL_FILES}/mxm_dataset_train.txt.zip",
        kind="zip",
        unpacks_to="mxm_dataset_train.txt",
        content="mxm",
        config_key="lyrics",
        approx_mb=30,
        tasks="bag-of-words lyrics of 210,519 tracks: the features of every task",
    ),
    OfficialFile(
        name="mxm_dataset_test.txt.zip",
        url=f"{MSD_ADDITIONAL_FILES}/mxm_dataset_test.txt.zip",
        kind="zip",
        unpacks_to="mxm_dataset_test.txt",
        content="mxm",
        config_key="lyrics",
        approx_mb=4,
        tasks="bag-of-words lyrics of 27,143 more tracks (merged with the training file)",
    ),
    OfficialFile(
        name="msd_tagtraum_cd1.cls.zip",
        url=f"{TAGTRAUM_GENRES}/msd_tagtraum_cd1.cls.zip",
        kind="zip",
        unpacks_to="msd_tagtraum_cd1.cls",
        content="tagtraum",
        config_key="tagtraum",
        approx_mb=2,
        tasks="genre:<Name> (binary) and genre (multiclass): tagtraum CD1, 133,676 MSD tracks",
    ),
    OfficialFile(
        name="track_metadata.db",
        url=f"{MSD_ADDITIONAL_FILES}/track_metadata.db",
        kind="sqlite",
        content="sqlite",
        config_key="track_metadata_db",
        approx_mb=700,
        tasks="year, duration, artist_familiarity, artist_hotttnesss; the artist ids artist_term.db needs",
    ),
    OfficialFile(
        name="artist_term.db",
        url=f"{MSD_ADDITIONAL_FILES}/artist_term.db",
        kind="sqlite",
        content="sqlite",
        config_key="artist_term_db",
        approx_mb=130,
        tasks="term:<term> (Echo Nest terms) and mbtag:<tag> (MusicBrainz tags) of each track's artist",
    ),
    OfficialFile(
        name="msd_summary_file.h5",
        url=f"{MSD_ADDITIONAL_FILES}/msd_summary_file.h5",
        kind="hdf5",
        content="hdf5",
        config_key="summary_h5",
        approx_mb=300,
        tasks="loudness, tempo, duration, year, song_hotttnesss, artist_hotttnesss, artist_familiarity",
    ),
)
REGISTRY: dict[str, OfficialFile] = {f.name: f for f in _REGISTRY_FILES}
# name of the file data.msd points at -> its registry entry
BY_PATH_NAME: dict[str, OfficialFile] = {f.path_name: f for f in _REGISTRY_FILES}
ARCHIVES: dict[str, OfficialFile] = {f.path_name: f for f in _REGISTRY_FILES if f.unpacks_to}
