"""Which sources of variance dominate a study's comparisons (a measurement, not a test; issue 15).

Following Bouthillier et al., "Accounting for Variance in Machine Learning Benchmarks" (MLSys
2021). For one coupling and sharing level of a study config, at its smallest and largest
training size, it trains per seed the multi-task run and its single-task partner under each
variation (``replicates.vary``):

- ``init_order``: [init, order], what a seed varied before (one fixed split and test set);
- ``subset``: + subset (the n training rows drawn per seed);
- ``split``: + split (train/validation/test re-drawn per seed);
- ``paired_init``: [init, order] with ``replicates.paired_init`` (every layer's initial weights
  drawn from the seed, the tower it serves and its shape: the target's tower starts from the same
  weights in the multi-task run as in its single-task partner);
- ``split_paired``: [init, order, subset, split] with ``replicates.paired_init``.

Per variation and size it reports, on the target's primary metric (ROC-AUC for a binary target),
the spread over seeds (sd) of the multi-task metric, the single-task metric and their paired gain,
and the test-set sampling spread inside one replicate: the standard error of a paired bootstrap
over the test examples of the two partners' predictions (``scipy.stats.bootstrap``), averaged
over seeds. Runs go under ``--out`` (resumable: a finished run is not trained again)::

    .venv/bin/python benchmarks/variance_sources.py --config config.yaml --out /tmp/variance/synthetic
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtrl.config import load_config, sharing_masks, study_tasks  # noqa: E402
from mtrl.data.plan import auxiliary_from_target_rows  # noqa: E402
from mtrl.data.prepared import read_prepared  # noqa: E402
from mtrl.data.replicates import replicate_data  # noqa: E402
from mtrl.kinds import MULTITASK, SINGLE, SINGLE_SHARING  # noqa: E402
from mtrl.metrics import class_probabilities, roc_auc  # noqa: E402

VARIATIONS = {  # name -> (replicates.vary, replicates.paired_init)
    "init_order": (("init", "order"), False),
    "subset": (("init", "order", "subset"), False),
    "split": (("init", "order", "subset", "split"), False),
    "paired_init": (("init", "order"), True),
    "split_paired": (("init", "order", "subset", "split"), True),
}


def prepared(config: dict, out: Path):
    """The study's prepared data, written once under ``out``."""
    path = out / "prepared.h5"
    if not path.exists():
        from mtrl.prepare import prepare_data

        out.mkdir(parents=True, exist_ok=True)
        tasks = study_tasks(config)
        prepare_data(
            config["data"],
            tasks,
            config["target"],
            config["train_sizes"],
            path,
            auxiliary_from_target_rows(config),
        )
    return read_prepared(path)


def train_pair(config, data, variation, n_train, seed, coupling, sharing, precision, out: Path) -> dict:
    """The target's test labels and both partners' predictions for one (variation, size, seed)."""
    import keras

    import mtrl.train as train
    from mtrl.config import run_parameters
    from mtrl.evaluation import predict
    from mtrl.spec import RunSpec

    folder = out / variation / str(n_train) / str(seed)
    cached = folder / "predictions.npz"
    if cached.exists():
        return dict(np.load(cached))
    target, (vary, paired) = config["target"], VARIATIONS[variation]
    masks = sharing_masks(config)
    runs = {
        MULTITASK: (
            list(config["couplings"][coupling]),
            masks[sharing],
            {"coupling": coupling, "sharing": sharing},
        ),
        SINGLE: ([target], masks[SINGLE_SHARING], {"coupling": "single", "sharing": SINGLE_SHARING}),
    }
    result = {}
    for kind, (tasks, mask, labels) in runs.items():
        params = {**run_parameters(config, tasks), "precision": precision}
        params |= {"vary": vary, "split_by": target, "paired_init": paired}
        spec = RunSpec(tasks=tasks, target=target, n_train=n_train, seed=seed, sharing_mask=list(mask),
                       labels={"kind": kind, **labels}, **params)  # fmt: skip
        run = folder / kind
        run.mkdir(parents=True, exist_ok=True)
        train.train_run(data, spec, run / "model.keras", run / "history.csv", run / "metrics.json", "torch")
        view = replicate_data(data, seed, vary, target)
        model = keras.saving.load_model(run / "model.keras")
        slug = data.dataset.task(target).slug
        result[kind] = predict(model, view, view.rows("test"), spec.feature_transform)[slug]
        result["y"] = view.labels(target, view.rows("test"))
    np.savez(cached, **result)
    return result


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of the binary target (:func:`mtrl.metrics.roc_auc`)."""
    from mtrl.tasks import TaskSpec

    return roc_auc(y, class_probabilities(TaskSpec("t", "binary"), score))


def test_sampling_se(pair: dict, resamples: int, seed: int) -> tuple[float, float]:
    """Bootstrap standard errors over the test examples of (multi-task AUC, paired gain)."""

    def gain(y, a, b):
        return auc(y, a) - auc(y, b)

    def multi(y, a, b):
        return auc(y, a)

    errors = []
    for statistic in (multi, gain):
        res = stats.bootstrap(
            (pair["y"], pair[MULTITASK].ravel(), pair[SINGLE].ravel()),
            statistic,
            paired=True,
            vectorized=False,
            n_resamples=resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        errors.append(float(res.standard_error))
    return errors[0], errors[1]


def summarise(pairs: dict[tuple[str, int], list[dict]], resamples: int) -> list[dict]:
    """Per (variation, size): spreads over seeds and the mean test-sampling standard error."""
    rows = []
    for (variation, n_train), found in pairs.items():
        multi = np.array([auc(p["y"], p[MULTITASK]) for p in found])
        single = np.array([auc(p["y"], p[SINGLE]) for p in found])
        gains = multi - single
        boot = np.array([test_sampling_se(p, resamples, i) for i, p in enumerate(found)])
        k = len(found)
        rows.append({
            "variation": variation, "n_train": n_train, "seeds": k,
            "auc_multi": float(multi.mean()), "auc_single": float(single.mean()), "gain": float(gains.mean()),
            "sd_multi": float(multi.std(ddof=1)), "sd_single": float(single.std(ddof=1)),
            "sd_gain": float(gains.std(ddof=1)),
            "ci_halfwidth_gain": float(stats.t.ppf(0.975, k - 1) * gains.std(ddof=1) / np.sqrt(k)),
            "boot_se_multi": float(boot[:, 0].mean()), "boot_se_gain": float(boot[:, 1].mean()),
        })  # fmt: skip
    return rows


def table(rows: list[dict]) -> str:
    """The summary as a Markdown table."""
    head = ("variation", "n", "gain", "sd gain (seeds)", "95% CI half-width", "bootstrap se gain",
            "sd MTL AUC", "sd STL AUC", "bootstrap se MTL AUC")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        keys = (
            "gain",
            "sd_gain",
            "ci_halfwidth_gain",
            "boot_se_gain",
            "sd_multi",
            "sd_single",
            "boot_se_multi",
        )
        cells = (r["variation"], r["n_train"], *(r[k] for k in keys))
        lines.append("| " + " | ".join(f"{c:.4f}" if isinstance(c, float) else str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--coupling", default="tight")
    parser.add_argument("--sharing", default="low")
    parser.add_argument("--variations", default=",".join(VARIATIONS))
    parser.add_argument("--sizes", default="", help="comma-separated (default: the smallest and largest)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.config)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else [min(config["train_sizes"]), max(config["train_sizes"])]
    )
    from mtrl.runtime import configure

    configure("torch", threads=args.threads)
    from mtrl import backends

    impl = backends.get("torch")
    impl.import_keras()
    precision = impl.precision(config["precision"])
    data = prepared(config, args.out)
    pairs: dict[tuple[str, int], list[dict]] = {}
    for variation in args.variations.split(","):
        for n_train in sizes:
            for seed in range(1, args.seeds + 1):
                pair = train_pair(
                    config, data, variation, n_train, seed, args.coupling, args.sharing, precision, args.out
                )
                pairs.setdefault((variation, n_train), []).append(pair)
                gain = auc(pair["y"], pair[MULTITASK]) - auc(pair["y"], pair[SINGLE])
                print(f"{variation} n={n_train} seed={seed} gain={gain:+.4f}", flush=True)
    rows = summarise(pairs, args.resamples)
    (args.out / f"variance_sources_n{'_'.join(map(str, sizes))}.json").write_text(
        json.dumps({"precision": precision, "rows": rows}, indent=1)
    )
    print(f"precision {precision}; {args.coupling} x {args.sharing}; {args.seeds} seeds")
    print(table(rows))


if __name__ == "__main__":
    main()
