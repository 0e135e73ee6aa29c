"""Benchmark of the musiXmatch reader on a lyric file of the full official size (not a test).

Writes a file in the official format with about 210,000 tracks of about 50 distinct words each
(Zipf-distributed word indices over 5,000 words, like the real lyrics) to a temporary directory,
parses it with :func:`mtrl.data.mxm.read_mxm` in a fresh Python process and reports lines per
second, seconds and peak resident memory (``ru_maxrss`` of that process). Prints the result and
writes it as JSON to ``results/bench/prepare.json``.

    .venv/bin/python benchmarks/bench_prepare.py [--tracks 210519] [--words 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_WORDS = 5_000
_CHILD = """
import json, resource, sys, time
from mtrl.data.mxm import read_mxm
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
lyrics = read_mxm([sys.argv[1]])
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rows": lyrics.n_tracks, "nnz": int(lyrics.counts.nnz),
                  "peak_rss_kib": peak, "rss_after_imports_kib": base}))
"""


_PREPARE_CHILD = """
import json, resource, sys, time
from mtrl.prepare import prepare_data
t0 = time.perf_counter()
data = {"source": "msd", "split": {"val_fraction": 0.15, "test_fraction": 0.15, "seed": 0},
        "msd": {"lyrics": [sys.argv[1]], "tagtraum": sys.argv[2]}}
prepare_data(data, ["genre:Pop_Rock", "genre:Rap"], "genre:Pop_Rock", [1000], sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - t0,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_tagtraum(path: Path, n_tracks: int, seed: int) -> None:
    """Genres for half of the tracks (70% Pop_Rock, like the real CD1 annotations)."""
    rng = np.random.default_rng(seed)
    genres = rng.choice(["Pop_Rock", "Rap", "Country", "Electronic"], p=[0.7, 0.1, 0.1, 0.1], size=n_tracks)
    with open(path, "w") as out:
        out.writelines(f"TR{i:016d}\t{genres[i]}\n" for i in range(0, n_tracks, 2))


def write_lyrics(path: Path, n_tracks: int, words_per_track: float, seed: int) -> tuple[int, int]:
    """Write a synthetic lyric file in the official format; returns (tracks, non-zeros)."""
    rng = np.random.default_rng(seed)
    weights = np.arange(1, N_WORDS + 1, dtype=np.float64) ** -1.0
    cdf = np.cumsum(weights / weights.sum())
    nnz = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("# synthetic musiXmatch-format file written by benchmarks/bench_prepare.py\n")
        out.write("%" + ",".join(f"w{i}" for i in range(1, N_WORDS + 1)) + "\n")
        for start in range(0, n_tracks, 10_000):
            n = min(10_000, n_tracks - start)
            lengths = np.maximum(1, rng.poisson(words_per_track, size=n))
            # draw extra tokens, keep each track's first `length` distinct words (in index order)
            draws = np.searchsorted(cdf, rng.random((n, int(3 * words_per_track) + 20))) + 1
            counts_all = rng.geometric(0.45, size=draws.shape)
            lines = []
            for i in range(n):
                words, first = np.unique(draws[i], return_index=True)
                keep = np.sort(rng.permutation(len(words))[: lengths[i]])
                idx, cnt = words[keep], counts_all[i, first[keep]]
                nnz += len(idx)
                pairs = ",".join(f"{a}:{b}" for a, b in zip(idx.tolist(), cnt.tolist(), strict=True))
                lines.append(f"TR{start + i:016d},{start + i + 1},{pairs}\n")
            out.writelines(lines)
    return n_tracks, nnz


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracks", type=int, default=210_519, help="tracks (official train file: 210,519)")
    parser.add_argument("--words", type=float, default=50.0, help="mean distinct words per track")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="results/bench/prepare.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mxm_dataset_train.txt"
        t0 = time.perf_counter()
        n_tracks, nnz = write_lyrics(path, args.tracks, args.words, args.seed)
        write_seconds = time.perf_counter() - t0
        size = path.stat().st_size
        root = Path(__file__).resolve().parents[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, env=env, check=False
        )
        if child.returncode != 0:
            raise SystemExit(f"the parsing process failed:\n{child.stderr}")
        measured = json.loads(child.stdout)
        tagtraum = Path(tmp) / "msd_tagtraum_cd1.cls"
        write_tagtraum(tagtraum, n_tracks, args.seed)
        prep = subprocess.run(
            [sys.executable, "-c", _PREPARE_CHILD, str(path), str(tagtraum), str(Path(tmp) / "prepared.h5")],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if prep.returncode != 0:
            raise SystemExit(f"the prepare_data process failed:\n{prep.stderr}")
        prepared = json.loads(prep.stdout.strip().splitlines()[-1])
    if (measured["rows"], measured["nnz"]) != (n_tracks, nnz):
        raise SystemExit(
            f"parsed {measured['rows']} rows / {measured['nnz']} non-zeros, wrote {n_tracks} / {nnz}"
        )
    result = {
        "benchmark": "read_mxm on a full-size musiXmatch lyric file",
        "tracks": n_tracks,
        "nonzeros": nnz,
        "file_mib": round(size / 2**20, 1),
        "seconds": round(measured["seconds"], 3),
        "lines_per_second": round(n_tracks / measured["seconds"]),
        "peak_rss_mib": round(measured["peak_rss_kib"] / 1024, 1),
        "rss_after_imports_mib": round(measured["rss_after_imports_kib"] / 1024, 1),
        "write_seconds": round(write_seconds, 1),
        "prepare_data": {
            "what": "whole prepare_data: lyrics + tagtraum labels -> split -> HDF5 (2 tasks)",
            "seconds": round(prepared["seconds"], 2),
            "peak_rss_mib": round(prepared["peak_rss_kib"] / 1024, 1),
        },
        "targets": {"seconds": 60, "peak_rss_mib": 2048},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
