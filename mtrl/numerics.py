"""The numerics of a study, resolved once: backend, precision and device class (``numerics.json``).

Rule ``resolve_numerics`` (:mod:`mtrl.resolve_numerics`, one job, on a compute node like the
training jobs) writes the record; every training job reads it and trains in its precision
(:func:`in_study_precision`), and a job that lands on another device class, or on hardware
without native bfloat16, trains in it all the same and logs a warning (:func:`job_warnings`).
Each ``metrics.json`` records the backend, precision and device the run actually used; the
aggregation refuses to pair runs whose numerics differ
(:func:`mtrl.stats.pairing.paired_with_single`) and the findings say what the runs used. No Keras.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from mtrl.precision import BFLOAT16, FLOAT32, PrecisionChoice

#: what a multi-task run and its single-task partner must share to be compared
NUMERICS_KEYS = ("backend", "precision", "device")


def numerics_document(
    backend: str, setting: str, choice: PrecisionChoice, device: str, host: Mapping[str, Any]
) -> dict[str, Any]:
    """The content of ``numerics.json``: what every run of the study trains with, and why."""
    return {
        "backend": backend,
        "precision": choice.precision,
        "device": device,
        "setting": setting,
        "decided_by": choice.reason,
        "calibration": choice.calibration,
        "host": dict(host),
    }


def read_numerics(path: str | os.PathLike) -> dict[str, Any]:
    """A ``numerics.json``, checked: backend, precision (float32 or bfloat16) and device present.

    :raises ValueError: naming the file and the key that is missing or wrong.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            doc = json.load(stream)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read the study's numerics {os.fspath(path)!r}: {err}") from err
    if not isinstance(doc, dict):
        raise ValueError(f"{os.fspath(path)}: expected a JSON object with {', '.join(NUMERICS_KEYS)}")
    for key in NUMERICS_KEYS:
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ValueError(f"{os.fspath(path)}: {key!r} is missing or not a name (got {doc.get(key)!r})")
    if doc["precision"] not in (FLOAT32, BFLOAT16):
        raise ValueError(
            f"{os.fspath(path)}: precision {doc['precision']!r} is not float32 or bfloat16; delete the "
            "file to resolve the study's numerics again"
        )
    return doc


def in_study_precision(spec: Mapping[str, Any], study: Mapping[str, Any]) -> dict[str, Any]:
    """A run's ``RunSpec`` arguments with the study's precision in place of the config's setting.

    The workflow's params hold the setting (e.g. ``auto``); the job trains in what the study
    resolved, so that no run decides on its own (the same pattern as ``couplings: auto``).
    """
    return {**spec, "precision": study["precision"]}


def numerics_label(backend: str, precision: str, device: str) -> str:
    """``backend/precision/device``, e.g. ``torch/bfloat16/cpu``."""
    return f"{backend}/{precision}/{device}"


def job_warnings(
    study: Mapping[str, Any], backend: str, precision: str, device: str, hardware_note: str | None
) -> list[str]:
    """Why a run's numerics differ from the study's, or its hardware suits them poorly (may be empty)."""
    found = []
    if study["backend"] != backend or study["precision"] != precision:
        found.append(
            f"this run trains as {backend}/{precision}, the study resolved "
            f"{study['backend']}/{study['precision']}: the aggregation will not pair it with runs "
            "of the study's numerics"
        )
    if study["device"] != device:
        found.append(
            f"this run trains on device {device!r}, the study resolved {study['device']!r} "
            "(a node of another kind?): its pairs with runs on the study's device are refused; "
            "run the study's training jobs on one kind of node"
        )
    if hardware_note:
        found.append(f"precision {precision} as the study resolved: {hardware_note}")
    return found
