"""The benchmark's data set: synthetic rows like the study's, generated once and cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

CACHE = Path(__file__).resolve().parents[1] / "results" / "bench" / "data"


def load_data(rows: int) -> tuple[sp.csr_matrix, dict[str, np.ndarray]]:
    """(CSR word counts, labels of tasks t0-t2) of ``rows`` synthetic songs, cached as .npz."""
    path = CACHE / f"rows{rows}.npz"
    if path.exists():
        with np.load(path) as saved:
            features = sp.csr_matrix(
                (saved["data"], saved["indices"], saved["indptr"]), shape=tuple(saved["shape"])
            )
            return features, {k[6:]: saved[k] for k in saved.files if k.startswith("label_")}
    from mtrl.data.synthetic import generate

    tasks = {f"t{i}": {"kind": "binary", "rho": 0.9 if i else 1.0} for i in range(3)}
    data = generate(n_rows=rows, tasks=tasks, seed=0)
    features = data.features.tocsr()
    labels = {name: np.asarray(data.labels[name]) for name in tasks}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        data=features.data,
        indices=features.indices,
        indptr=features.indptr,
        shape=np.array(features.shape),
        **{f"label_{k}": v for k, v in labels.items()},
    )
    tmp.replace(path)
    return features, labels
