"""How often does each interval of a metric's mean over seeds cover the true mean, and leave [0, 1]?

    .venv/bin/python benchmarks/interval_coverage.py [--studies 4000]

Simulates studies whose per-seed metric is Beta-distributed (skewed near a bound like an AUC of
0.9, or centred) and compares three 95% intervals of the mean: the plain t interval
(:func:`mtrl.stats.intervals.mean_interval`), the summary's logit interval
(:func:`mtrl.stats.intervals.bounded_mean_interval`) and, as the alternative it was chosen over,
the t interval of the logit of the values, back-transformed. Prints a markdown table and writes
``results/bench/interval_coverage.json``. Takes about ten seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import special, stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mtrl.stats.intervals import bounded_mean_interval, mean_interval  # noqa: E402  (after the path)

#: (Beta parameters, seeds) of the simulated studies
SETTINGS = [((2, 8), 3), ((2, 8), 10), ((9, 1), 3), ((9, 1), 10), ((4, 0.5), 3), ((4, 0.5), 10)]
SETTINGS += [((50, 50), 3)]


def logit_values_interval(x: np.ndarray) -> tuple[float, float]:
    """The t interval of the logit of the values, back-transformed (infinite for a value on 0 or 1)."""
    z = special.logit(x)
    low, high = stats.t.interval(0.95, df=len(z) - 1, loc=z.mean(), scale=z.std(ddof=1) / np.sqrt(len(z)))
    return float(special.expit(low)), float(special.expit(high))


def _ends(interval) -> tuple[float, float]:
    return interval.ci_low, interval.ci_high


def simulate(a: float, b: float, seeds: int, studies: int, rng: np.random.Generator) -> dict:
    truth = a / (a + b)
    samples = rng.beta(a, b, size=(studies, seeds))
    means = samples.mean(axis=1)
    methods = {
        "t": lambda x: _ends(mean_interval(x)),
        "logit (summary)": lambda x: _ends(bounded_mean_interval(x, (0.0, 1.0))),
        "t of logit values": logit_values_interval,
    }
    row = {"beta": [a, b], "mean": truth, "seeds": seeds}
    for name, interval in methods.items():
        ends = np.array([interval(x) for x in samples])
        row[name] = {
            "coverage": float(np.mean((ends[:, 0] <= truth) & (truth <= ends[:, 1]))),
            "leaves_range": float(np.mean((ends[:, 0] < 0) | (ends[:, 1] > 1))),
            "median_width": float(np.median(ends[:, 1] - ends[:, 0])),
            "misses_sample_mean": float(np.mean((means < ends[:, 0]) | (means > ends[:, 1]))),
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000)
    parser.add_argument("--output", default=str(REPO / "results/bench/interval_coverage.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [simulate(a, b, seeds, args.studies, rng) for (a, b), seeds in SETTINGS]
    names = ["t", "logit (summary)", "t of logit values"]
    print("| Beta | mean | seeds | " + " | ".join(f"{n}: coverage / leaves [0, 1]" for n in names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for r in rows:
        cells = " | ".join(f"{r[n]['coverage']:.3f} / {r[n]['leaves_range']:.3f}" for n in names)
        print(f"| ({r['beta'][0]:g}, {r['beta'][1]:g}) | {r['mean']:.3f} | {r['seeds']} | {cells} |")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"studies": args.studies, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
