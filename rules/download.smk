# Fetch the official MSD / musiXmatch / tagtraum files into download.dir (default data/msd), off
# by default: with download.enabled the study's targets include them and prepare_data waits for
# the data.msd files that come from there. A file can also be fetched on its own at any time, e.g.
#   snakemake data/msd/track_metadata.db
# download_msd fetches one official file (the zip archive itself for the lyrics and genres) with
# its sha256 sidecar, once its size (exact, or the registry's approximate one) and content check
# out (a zip, SQLite or HDF5 file must read as a whole); unpack_msd extracts the file data.msd
# points at from a downloaded zip. Both run where snakemake runs (localrules), since cluster nodes
# often have no internet. The script reads download.sha256, download.sizes and download.timeout_s
# from the config, not from params, so that pinning a checksum or size after the first download
# does not fetch the file again (nor rerun the study).
from mtrl.data import download as official_files

DOWNLOAD = official_files.settings(config)


localrules:
    download_msd,
    unpack_msd,


rule download_msd:
    output:
        file=f"{DOWNLOAD.dir}/{{file}}",
        sha256=f"{DOWNLOAD.dir}/{{file}}.sha256",
    log:
        f"{RESULTS}/logs/download_msd/{{file}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_msd/{{file}}.tsv"
    wildcard_constraints:
        file=_alternatives(official_files.REGISTRY),
    conda:
        "../envs/mtrl.yaml"
    params:
        url=lambda wildcards: DOWNLOAD.url(wildcards.file),
        kind=lambda wildcards: official_files.REGISTRY[wildcards.file].kind,
    script:
        "../scripts/download_msd.py"


rule unpack_msd:
    input:
        archive=lambda wildcards: f"{DOWNLOAD.dir}/{official_files.ARCHIVES[wildcards.unpacked].name}",
    output:
        file=f"{DOWNLOAD.dir}/{{unpacked}}",
    log:
        f"{RESULTS}/logs/unpack_msd/{{unpacked}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/unpack_msd/{{unpacked}}.tsv"
    wildcard_constraints:
        unpacked=_alternatives(official_files.ARCHIVES),
    conda:
        "../envs/mtrl.yaml"
    params:
        content=lambda wildcards: official_files.ARCHIVES[wildcards.unpacked].content,
    script:
        "../scripts/download_msd.py"
