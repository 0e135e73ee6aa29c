"""Evaluate a saved model on a split of a prepared-data file and print its metrics.

    python -m mtrl.evaluate results/runs/tight/low/n200/seed1/model.keras results/data/prepared.h5
    mtrl-evaluate MODEL DATA [--split test] [--backend torch] [--json]

The tasks are read from the model's named outputs; the trivial baseline is fitted on the whole
training split (a run's own baseline, fitted on its training subset, is in its metrics.json).
Where the run's ``metrics.json`` beside the model says that its seed drew its own split
(``replicates.vary``), the split is that replicate's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mtrl import backends
from mtrl.runtime import configure
from mtrl.schema import default_value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mtrl-evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model.keras written by a training run")
    parser.add_argument("data", help="the prepared-data file (results/data/prepared.h5)")
    parser.add_argument("--split", choices=["val", "test"], default="test")
    # the default backend of the workflow, so that the printed metrics are the run's own
    parser.add_argument("--backend", default=default_value("backend"), choices=backends.NAMES)
    parser.add_argument(
        "--transform",
        default="log1p",
        choices=["log1p", "counts", "binary"],
        help="feature transform the model was trained with (training.feature_transform)",
    )
    parser.add_argument(
        "--threshold",
        default="fixed",
        choices=["fixed", "validation"],
        help="decision threshold of binary tasks (training.threshold): 0.5, or chosen on validation",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    configure(args.backend, threads=None)
    keras = backends.get(args.backend).import_keras()

    from mtrl.data.prepared import read_prepared
    from mtrl.evaluation import evaluate_model

    data = replicate_of(read_prepared(args.data), Path(args.model).with_name("metrics.json"))
    try:
        model = keras.saving.load_model(args.model, compile=False)
    except (OSError, ValueError) as err:
        parser.error(f"cannot load model {args.model!r}: {err}")
    # output_names are the task slugs (mtrl.model.with_original_units); older files keep them
    # only as the keys of the output structure
    outputs = set(getattr(model, "output_names", ())) | _output_keys(model)
    tasks = [t for t in data.tasks if t.slug in outputs]
    if not tasks:
        parser.error(f"model {args.model!r} predicts none of the tasks of {args.data!r}")
    result = evaluate_model(model, data, tasks, args.transform, splits=[args.split], threshold=args.threshold)
    result = result[args.split]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{'task':24} {'metric':18} {'model':>10} {'baseline':>10}   (split: {args.split})")
    for task, res in result.items():
        for metric, value in res["model"].items():
            print(f"{task:24} {metric:18} {value:10.4f} {res['baseline'][metric]:10.4f}")
    return 0


def replicate_of(data, metrics_path: Path):
    """``data`` as the run of ``metrics_path`` saw it: its replicate's split where its seed drew
    one (``run.vary`` in the file), else ``data``."""
    from mtrl.data.replicates import replicate_data

    if not metrics_path.exists():
        return data
    run = json.loads(metrics_path.read_text()).get("run", {})
    if "vary" not in run:
        return data
    return replicate_data(data, int(run["seed"]), run["vary"], run["split_by"])


def _output_keys(model) -> set[str]:
    structure = getattr(model, "_outputs_struct", None)
    return set(structure) if isinstance(structure, dict) else set()


if __name__ == "__main__":
    sys.exit(main())
