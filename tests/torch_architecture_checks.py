"""The soft-sharing architectures on the PyTorch fast path, in a process of their own (Keras: torch).

Run by tests/test_soft_architectures.py: ``python tests/torch_architecture_checks.py PREPARED OUT``
prints ``ok <check>`` per check and exits non-zero on the first failed assertion.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtrl.runtime import configure

configure("torch", threads=1)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from mtrl.architectures import create  # noqa: E402
from mtrl.backends.torch.autocast import autocast_view  # noqa: E402
from mtrl.backends.torch.layers import mixing_operation  # noqa: E402
from mtrl.backends.torch.sparse import SparseRows  # noqa: E402
from mtrl.model import build_model  # noqa: E402
from mtrl.tasks import TaskSpec  # noqa: E402

TASKS = [TaskSpec("a", "binary"), TaskSpec("b", "regression"), TaskSpec("c", "multiclass", ("x", "y", "z"))]
OPTIONS = {
    "cross_stitch": {"layers": "all", "alpha_same": 0.9},
    "mmoe": {"experts": 3},
    "cgc": {"shared_experts": 2, "task_experts": 1},
    "ple": {"levels": 2, "shared_experts": 1, "task_experts": 1},
}


def check_fast_forward_reads_sparse_batches() -> None:
    """Every architecture's first layers read the batch's non-zeros and every layer has a lean
    PyTorch form; the lean forward pass equals Keras's, from dense and from sparse batches; under
    bfloat16 autocast the heads stay float32."""
    x = (torch.rand(6, 40) > 0.7).float() * torch.rand(6, 40)
    for name, options in OPTIONS.items():
        keras.utils.set_random_seed(0)
        model = build_model(40, TASKS, create(name, (16, 8, 8, 4), (0.0, 0.0, 0.5, 0.5), **options))
        view = autocast_view(model, None)
        assert view.reads_sparse_batches, name
        # every layer runs as bare PyTorch: Dense/Dropout, and the stacking and mixing ones
        for layer in model.layers:
            if not isinstance(layer, (keras.layers.Dense, keras.layers.Dropout, keras.layers.InputLayer)):
                assert mixing_operation(layer) is not None, (name, layer.name, type(layer).__name__)
        with torch.no_grad():
            expected = model(x, training=False)
            for batch in (x, SparseRows.from_dense(x)):
                out = view.fast_call(batch, training=False)
                for task in expected:
                    np.testing.assert_allclose(
                        out[task].numpy(), expected[task].numpy(), atol=1e-6, err_msg=name
                    )
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = view.fast_call(x, training=True)
        assert all(v.dtype == torch.float32 for v in out.values()), (
            name,
            {k: v.dtype for k, v in out.items()},
        )


def check_runs_train_and_record_their_architecture(prepared: str, out: str) -> None:
    """train_run on the default (PyTorch) backend in bfloat16: metrics.json records the
    architecture, its options and its parameter count; the saved model is plain Keras."""
    from mtrl.architectures import architecture_of
    from mtrl.model import count_parameters
    from mtrl.train import RunSpec, train_run

    for name, options in OPTIONS.items():
        spec = RunSpec(
            tasks=["t_target", "t_close", "t_reg"],
            target="t_target",
            n_train=80,
            seed=1,
            widths=(16, 8, 8, 4),
            max_epochs=3,
            patience=2,
            batch_size=32,
            precision="bfloat16",
            architecture=name,
            architecture_options=options,
        )
        run = Path(out) / name
        doc = train_run(
            prepared, spec, run / "model.keras", run / "history.csv", run / "metrics.json", "torch"
        )
        assert doc["run"]["architecture"]["name"] == name, doc["run"]
        assert "sharing_mask" not in doc["run"], doc["run"]
        tasks = [
            TaskSpec("t_target", "binary"),
            TaskSpec("t_close", "binary"),
            TaskSpec("t_reg", "regression"),
        ]
        assert doc["training"]["parameters"] == count_parameters(300, tasks, architecture_of(spec))
        assert json.loads((run / "metrics.json").read_text())["run"] == doc["run"]
        assert np.isfinite(doc["metrics"]["test"]["t_target"]["model"]["log_loss"])


if __name__ == "__main__":
    check_fast_forward_reads_sparse_batches()
    print("ok check_fast_forward_reads_sparse_batches", flush=True)
    check_runs_train_and_record_their_architecture(sys.argv[1], sys.argv[2])
    print("ok check_runs_train_and_record_their_architecture", flush=True)
