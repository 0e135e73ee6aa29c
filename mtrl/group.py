"""Train the replicates of one cell in one program (``execution.replicates_per_job``).

A group is the runs of one (coupling, sharing, size) cell, or of one single-task (task, size),
that differ only in their seed. :func:`train_group` trains them in this process and writes each
run's own ``model.keras``, ``history.csv`` and ``metrics.json``, as :func:`mtrl.train.train_run`
writes them for one run, so that everything downstream reads a group's runs like any others.
The backend decides how (:meth:`mtrl.backends.base.Backend.group_engine`): one after the other
(every backend, architecture and weighting), or stacked along a replicate axis in one training
loop where it has such a path. A replicate that fails fails its group, with a message naming
its seed. Import only after :func:`mtrl.runtime.configure` has chosen the backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mtrl.data.prepared import PreparedData, read_prepared
from mtrl.errors import ReplicateError
from mtrl.spec import RunSpec

OUTPUT_KEYS = ("model", "history", "metrics")


def replicate_name(spec: RunSpec) -> str:
    """``seed 3``, or ``seed 3, single-task network 2`` for a further network of a seed's baseline."""
    return f"seed {spec.seed}" + (f", single-task network {spec.network}" if spec.network else "")


def check_group(specs: Sequence[RunSpec]) -> None:
    """A group: at least one run, distinct replicates (seed and network), every other field the same."""
    if not specs:
        raise ValueError("a replicate group needs at least one run")
    replicates = [(spec.seed, spec.network) for spec in specs]
    if len(set(replicates)) != len(replicates):
        raise ValueError(f"a replicate group's seeds must be distinct, got {[s.seed for s in specs]}")
    first = dataclasses.replace(specs[0], seed=0, network=0)
    for spec in specs[1:]:
        if dataclasses.replace(spec, seed=0, network=0) != first:
            differ = [
                f.name
                for f in dataclasses.fields(RunSpec)
                if f.name not in ("seed", "network") and getattr(spec, f.name) != getattr(specs[0], f.name)
            ]
            raise ValueError(
                f"the runs of a replicate group differ only in their seed; {replicate_name(spec)} differs "
                f"from {replicate_name(specs[0])} in {', '.join(differ)}"
            )


def check_outputs(outputs: Sequence[Mapping[str, str | Path]], n_runs: int) -> None:
    if len(outputs) != n_runs:
        raise ValueError(f"a replicate group of {n_runs} runs needs {n_runs} output sets, got {len(outputs)}")
    for out in outputs:
        missing = [key for key in OUTPUT_KEYS if key not in out]
        if missing:
            raise ValueError(f"a run's outputs need {', '.join(OUTPUT_KEYS)}; missing {', '.join(missing)}")


def train_group(
    data: PreparedData | str | Path,
    specs: Sequence[RunSpec],
    outputs: Sequence[Mapping[str, str | Path]],
    backend: str,
    study_numerics: Mapping[str, str] | None = None,
    engine: str = "auto",
) -> list[dict[str, Any]]:
    """Train the replicate group ``specs`` and write each run's outputs (``outputs``: per run, the
    paths ``model``, ``history`` and ``metrics``); return each run's ``metrics.json`` content.

    ``engine``: ``auto`` (the backend's stacked path where it trains this group, else
    ``sequential``), ``stacked`` (an error where the backend has none) or ``sequential``.
    """
    from mtrl import backends

    check_group(specs)
    check_outputs(outputs, len(specs))
    data = data if isinstance(data, PreparedData) else read_prepared(data)
    impl = backends.get(backend)
    stacked = impl.group_engine(specs[0]) if engine != "sequential" else None
    if engine == "stacked" and stacked is None:
        raise ValueError(
            f"backend {backend!r} has no stacked replicate path for this run "
            f"(architecture {specs[0].architecture!r}, weighting {specs[0].weighting!r})"
        )
    if stacked is not None:
        return stacked(data, list(specs), list(outputs), backend, study_numerics)
    return train_sequentially(data, specs, outputs, backend, study_numerics)


def train_sequentially(
    data: PreparedData,
    specs: Sequence[RunSpec],
    outputs: Sequence[Mapping[str, str | Path]],
    backend: str,
    study_numerics: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The group's runs one after the other in this process (the data read once)."""
    from mtrl.train import train_run

    results = []
    for spec, out in zip(specs, outputs, strict=True):
        with replicate_errors(spec, specs):
            results.append(
                train_run(
                    data,
                    spec,
                    out["model"],
                    out["history"],
                    out["metrics"],
                    backend,
                    study_numerics=study_numerics,
                )
            )
    return results


@dataclasses.dataclass(frozen=True)
class StackSetup:
    """What a stacked engine starts from: the backend (set up), each run's inputs, the width of
    the input and the runs' precision."""

    impl: Any
    inputs: list
    input_dim: int
    precision: str


def stack_setup(
    data: PreparedData, specs: Sequence[RunSpec], backend: str, study_numerics: Mapping[str, str] | None
) -> StackSetup | None:
    """Set up the backend and each run's inputs (:func:`mtrl.run_inputs.prepare_run_inputs`; an
    error names its seed); None where their training or validation rows differ in number (the runs
    cannot share a stacked program's batches: they train one after the other, :func:`train_sequentially`)."""
    from mtrl import backends
    from mtrl.run_inputs import prepare_run_inputs
    from mtrl.train import run_precision

    impl = backends.get(backend)
    impl.import_keras()
    impl.prepare_process()
    inputs = []
    for spec in specs:
        with replicate_errors(spec, specs):
            inputs.append(prepare_run_inputs(data, spec))
    if len({len(i.train_rows) for i in inputs}) > 1 or len({len(i.data.rows("val")) for i in inputs}) > 1:
        logging.getLogger("mtrl").info(
            "replicate group of seeds %s: their training or validation rows differ in number, so "
            "they train one after the other",
            [s.seed for s in specs],
        )
        return None
    input_dim = data.dataset.features.shape[1]
    return StackSetup(impl, inputs, input_dim, run_precision(impl, specs[0], input_dim, study_numerics))


@contextlib.contextmanager
def replicate_errors(spec: RunSpec, specs: Sequence[RunSpec]) -> Iterator[None]:
    """Turn any error of one replicate into a :class:`ReplicateError` naming its seed."""
    try:
        yield
    except Exception as error:
        seeds = sorted({s.seed for s in specs})
        raise ReplicateError(
            f"replicate {replicate_name(spec)} of the group of seeds {seeds} failed, so the group "
            f"fails: {type(error).__name__}: {error}"
        ) from error
