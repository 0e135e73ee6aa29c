"""``precision: auto`` by measurement: bfloat16 only where a training step is measured faster.

CPU flags do not predict speed: on an AMD EPYC with AVX512-BF16 mtrl's PyTorch path trains
1.7-1.8x faster in bfloat16 than in float32, on an Intel Xeon with AVX512-BF16 but no AMX it
trains 1.5x slower. So the PyTorch backend times a few training steps of the study's network in
both precisions (:mod:`mtrl.backends.torch.calibrate`) and this module decides from the times
(:func:`decide_precision`, a pure function) and caches the measurement per CPU model, core count,
threads, network shape and library versions (:func:`calibration_key`) as one JSON file each in
a cache folder (``mtrl.runtime.cache_dir("precision")``). No framework is imported here.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from mtrl.io import write_json
from mtrl.precision import BFLOAT16, FLOAT32, PrecisionChoice, cpu_model_name

#: bfloat16 is chosen only where its median step is at least this many times as fast as float32's
#: (a tie keeps float32's exact arithmetic; measurement noise on shared machines is ~5%)
MIN_SPEEDUP = 1.1
#: bump when the measurement or the step it times changes, so that older cached measurements are
#: not reused (2: the first layers' kernel gradient from the non-zeros, float32 in both precisions)
METHOD_VERSION = 2
#: words per row of the synthetic rows measured (a musiXmatch song has ~90 distinct words)
NONZEROS_PER_ROW = 90
MXM_VOCABULARY = 5000  # features of the musiXmatch bag of words

#: measured step times: precision -> seconds of each timed training step
StepTimes = Mapping[str, Sequence[float]]

log = logging.getLogger("mtrl")


@dataclass(frozen=True)
class NetworkShape:
    """The shapes a calibration trains at: the study's network and batch size.

    Measured with the lower half of the layers per task and the upper half shared (the ``high``
    preset on four layers, the largest of the built-in presets) and three binary tasks.
    """

    input_dim: int = MXM_VOCABULARY
    widths: tuple[int, ...] = (1024, 512, 256, 128)
    dropout: tuple[float, ...] = (0.0, 0.0, 0.5, 0.5)
    batch_size: int = 128

    @classmethod
    def of_config(cls, config: Mapping[str, Any]) -> NetworkShape:
        """The shape of a (defaulted) study config's network."""
        data = config["data"]
        synthetic = data["source"] == "synthetic"
        return cls(
            input_dim=int(data["synthetic"]["n_features"]) if synthetic else MXM_VOCABULARY,
            widths=tuple(int(w) for w in config["model"]["widths"]),
            dropout=tuple(float(d) for d in config["model"]["dropout"]),
            batch_size=int(config["training"]["batch_size"]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (lists for tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def sharing_mask(self) -> tuple[bool, ...]:
        n = len(self.widths)
        return tuple(i >= n // 2 for i in range(n))


def decide_precision(times: StepTimes, min_speedup: float = MIN_SPEEDUP) -> str:
    """bfloat16 where its median step time is at least ``min_speedup`` times as fast as float32's.

    :raises ValueError: when either precision has no measured step.
    """
    for precision in (FLOAT32, BFLOAT16):
        if not times.get(precision):
            raise ValueError(f"no measured {precision} training step to decide the precision from")
    return BFLOAT16 if speedup(times) >= min_speedup else FLOAT32


def speedup(times: StepTimes) -> float:
    """How many times as fast a bfloat16 step is as a float32 one (median step times)."""
    return statistics.median(times[FLOAT32]) / statistics.median(times[BFLOAT16])


def calibration_key(shape: NetworkShape, threads: int, libraries: Sequence[str] = ("torch", "keras")) -> dict:
    """What a measurement depends on: CPU model and count, threads, network, library versions."""
    return {
        "cpu": cpu_model_name(),
        "cpus": os.cpu_count(),
        "threads": int(threads),
        "network": shape.as_dict(),
        "versions": {name: _version(name) for name in libraries},
        "method": METHOD_VERSION,
    }


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cache_file(key: Mapping[str, Any], folder: str | os.PathLike) -> Path:
    """The file of ``key``'s measurement in ``folder`` (named by a hash of the key)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return Path(folder) / f"{digest}.json"


def read_cached(key: Mapping[str, Any], folder: str | os.PathLike) -> dict | None:
    """The cached measurement of ``key``, or None (absent, unreadable, or of another key)."""
    path = cache_file(key, folder)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        log.warning("precision calibration cache %s is unreadable (%s): measuring again", path, err)
        return None
    if not isinstance(doc, dict) or doc.get("key") != key or not isinstance(doc.get("seconds"), dict):
        return None
    return doc


def write_cached(key: Mapping[str, Any], doc: Mapping[str, Any], folder: str | os.PathLike) -> None:
    """Store a measurement atomically; a folder that cannot be written costs only a warning."""
    path = cache_file(key, folder)
    try:
        write_json(path, {"key": dict(key), **doc})
    except OSError as err:
        log.warning("cannot cache the precision calibration in %s (%s): measured again next time", path, err)


def calibrated_choice(
    key: Mapping[str, Any],
    measure: Callable[[], StepTimes],
    folder: str | os.PathLike,
    min_speedup: float = MIN_SPEEDUP,
) -> PrecisionChoice:
    """The precision ``auto`` means for ``key``: from its cached measurement, else from ``measure()``
    (then cached). The choice's ``calibration`` holds the step times and where they came from."""
    doc = read_cached(key, folder)
    cached = doc is not None
    if doc is None:
        start = time.perf_counter()
        times = {p: [float(t) for t in times] for p, times in measure().items()}
        doc = {
            "seconds": times,
            "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "measure_seconds": round(time.perf_counter() - start, 2),
        }
        write_cached(key, doc, folder)
    times = doc["seconds"]
    precision = decide_precision(times, min_speedup)
    calibration = {
        "median_step_seconds": {p: round(statistics.median(times[p]), 5) for p in (FLOAT32, BFLOAT16)},
        "bfloat16_speedup": round(speedup(times), 3),
        "min_speedup": min_speedup,
        "cached": cached,
        **doc,
        "key": dict(key),
    }
    return PrecisionChoice(precision, calibration_reason(calibration), calibration)


def calibration_reason(calibration: Mapping[str, Any]) -> str:
    """How a calibration decided, in one clause."""
    median = calibration["median_step_seconds"]
    ratio, needed = calibration["bfloat16_speedup"], calibration["min_speedup"]
    verdict = "at least" if ratio >= needed else "less than"
    when = calibration["measured_at"]
    source = f"cached measurement of {when}" if calibration["cached"] else "measured now"
    steps = len(calibration["seconds"][BFLOAT16])
    return (
        f"measured at the study's network shapes ({source}, {steps} steps each, "
        f"{calibration['key']['threads']} thread(s), {calibration['key']['cpu']}): a bfloat16 "
        f"training step took {median[BFLOAT16] * 1000:.1f} ms, a float32 one "
        f"{median[FLOAT32] * 1000:.1f} ms, so bfloat16 is {ratio:.2f}x as fast, {verdict} the "
        f"{needed:g}x it must gain"
    )
