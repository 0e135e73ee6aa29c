"""Checks of the loss weightings on a backend other than the tests' own, in a process of its own.

Run by tests/test_weighting_training.py: ``python tests/weighting_checks.py PREPARED BACKEND``
(torch: the gradient methods' steps (PCGrad, UPGrad, GradNorm, FAMO) and short runs of pcgrad,
upgrad, uw, gradnorm and famo, and of pcgrad on MMoE; tensorflow: short runs of uw, dwa and rlw)
exits non-zero on the first failed assertion and prints ``ok ...`` after each check.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtrl.runtime import configure

BACKEND = sys.argv[2]
configure(BACKEND, threads=1)

import json  # noqa: E402
import tempfile  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from mtrl import backends  # noqa: E402
from mtrl.tasks import TaskSpec  # noqa: E402
from mtrl.train import RunSpec, network_builder, train_run  # noqa: E402

LOSS = {"binary": keras.losses.binary_crossentropy, "regression": keras.losses.mean_squared_error}


def check_steps_are_the_aggregation(
    name: str, tasks: list[TaskSpec], aggregator=None, reference=None, steps: int = 1, jacobian_path=False
) -> None:
    """Each of ``steps`` SGD steps (lr 0.1) on one batch moves each shared weight by -lr * the
    aggregation of the tasks' gradients (TorchJD's ``aggregator``, or the ``aggregate`` of
    ``reference``, a GradNorm or FAMO of the check's own fed the same gradients and losses, and
    FAMO the losses after each step) and each private weight by -lr * its own task's gradient
    (FAMO: times the task's weight). The trainer weights the tasks from their Gramian where the
    method can (:class:`~mtrl.backends.torch.gradients.GramianRule`); ``jacobian_path``: from the
    Jacobian (as Nash-MTL does)."""
    impl = backends.get("torch")
    spec = RunSpec(
        tasks=[t.name for t in tasks], target=tasks[0].name, n_train=8, seed=0,
        sharing_mask=[True, True, False], widths=(8, 6, 4), dropout=(0.0, 0.0, 0.0),
        optimizer="sgd", learning_rate=0.1, weighting=name,
    )  # fmt: skip
    impl.seed(0)
    model, trainer = impl.build_trainer(network_builder(spec, tasks, 20), spec, tasks, "float32")
    assert (trainer._gramian_rule is not None) == (name != "nash_mtl"), (name, trainer._gramian_rule)
    if jacobian_path:
        trainer._gramian_rule = None
    rng = np.random.default_rng(0)
    device = keras.ops.zeros(()).device  # where Keras trains (a GPU where there is one)
    x = torch.tensor(rng.random((8, 20)), dtype=torch.float32, device=device)
    y = {t.slug: torch.tensor(rng.integers(0, 2, (8, 1)), dtype=torch.float32, device=device) for t in tasks}
    weight = {t.slug: torch.ones(8, device=device) for t in tasks}
    params = [v.value for v in model.trainable_weights]
    for step in range(steps):
        before = [p.detach().clone() for p in params]
        outputs = model(x, training=False)
        losses = [torch.mean(LOSS[t.kind](y[t.slug], outputs[t.slug])) for t in tasks]
        grads = {
            t.slug: torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            for t, loss in zip(tasks, losses, strict=True)
        }
        shared = [j for j in range(len(params)) if sum(grads[t.slug][j] is not None for t in tasks) > 1]
        jacobian = torch.stack([torch.cat([grads[t.slug][j].reshape(-1) for j in shared]) for t in tasks])
        torch.manual_seed(0)
        if reference is None:
            direction, weights = aggregator(jacobian), None
        else:
            direction, weights = reference.aggregate(jacobian, torch.stack(losses).detach())
        torch.manual_seed(0)
        trainer.train_on_batch(x, y, sample_weight=weight)
        if reference is not None and reference.updates_after_step:
            after = model(x, training=False)
            reference.update([float(torch.mean(LOSS[t.kind](y[t.slug], after[t.slug]))) for t in tasks])
        offset = 0
        for j, (old, p) in enumerate(zip(before, params, strict=True)):
            if j in shared:
                part = direction[offset : offset + p.numel()].reshape(p.shape)
                offset += p.numel()
            else:
                i = next(i for i, t in enumerate(tasks) if grads[t.slug][j] is not None)
                part = grads[tasks[i].slug][j]
                part = part * weights[i] if reference is not None and reference.scales_private else part
            assert torch.allclose(p.detach(), old - 0.1 * part, atol=1e-6), (
                name,
                step,
                model.trainable_weights[j].path,
            )
        assert len(shared) == 4, shared  # the two shared Dense layers' kernels and biases
    print(f"ok step {name}" + (" (from the Jacobian)" if jacobian_path else ""))


def check_gramian_without_a_jacobian() -> None:
    """gradients.gramian equals J J^T of the stacked gradients, a task without a gradient of a
    weight adding zeros there."""
    from mtrl.backends.torch.gradients import gramian

    rng = np.random.default_rng(1)
    shapes = [(7, 5), (5,), (5, 3)]
    tasks = ["a", "b", "c"]
    per_task = {
        t: [torch.tensor(rng.standard_normal(shape), dtype=torch.float64) for shape in shapes] for t in tasks
    }
    per_task["c"][2] = None  # weight 2 is shared by a and b only
    rows = [
        torch.cat([(g if g is not None else torch.zeros(shape, dtype=torch.float64)).reshape(-1)
                   for g, shape in zip(per_task[t], shapes, strict=True)])
        for t in tasks
    ]  # fmt: skip
    jacobian = torch.stack(rows)
    assert torch.allclose(gramian(per_task, tasks, [0, 1, 2]), jacobian @ jacobian.T, rtol=1e-12)
    only_first = jacobian[:, :35]
    assert torch.allclose(gramian(per_task, tasks, [0]), only_first @ only_first.T, rtol=1e-12)
    print("ok the Gramian without a Jacobian")


def check_non_finite_runs_fail_clearly(prepared: str, weightings: tuple[str, ...]) -> None:
    """A gradient method whose weights go non-finite fails with NonFiniteLossError naming the
    epoch, not with its solver's error on NaN gradients (IMTL-G's linear algebra)."""
    from mtrl.errors import NonFiniteLossError

    for weighting in weightings:
        spec = RunSpec(
            tasks=["t_target", "t_close", "t_reg"], target="t_target", n_train=120, seed=4,
            sharing_mask=[True, True, False, False], widths=(16, 8, 8, 4), max_epochs=3, patience=3,
            batch_size=32, weighting=weighting, optimizer="sgd", learning_rate=1e30,
            feature_transform="counts",
        )  # fmt: skip
        out = Path(tempfile.mkdtemp()) / weighting
        try:
            train_run(prepared, spec, out / "model.keras", out / "history.csv", out / "metrics.json", BACKEND)
        except NonFiniteLossError as err:
            assert "at epoch 1" in str(err), (weighting, str(err))
        else:
            raise AssertionError(f"{weighting}: a run at learning rate 1e30 did not fail")
    print(f"ok non-finite runs fail clearly: {' '.join(weightings)}")


def check_short_runs(prepared: str, weightings: tuple[str, ...], architecture: str = "hard") -> None:
    """``weightings`` train on this backend, record their weights and keep early stopping; on
    ``architecture`` (soft sharing: 2 experts, its shared weights found in the tasks' graphs)."""
    names = ("t_target", "t_close", "t_reg")
    network = (
        {"architecture": architecture, "architecture_options": {"experts": 2}}
        if architecture != "hard"
        else {}
    )
    for weighting in weightings:
        spec = RunSpec(
            tasks=list(names), target="t_target", n_train=120, seed=4,
            sharing_mask=[True, True, False, False], widths=(16, 8, 8, 4), max_epochs=3, patience=3,
            batch_size=32, weighting=weighting, **network,
        )  # fmt: skip
        out = Path(tempfile.mkdtemp()) / weighting
        train_run(prepared, spec, out / "model.keras", out / "history.csv", out / "metrics.json", BACKEND)
        history = pd.read_csv(out / "history.csv")
        weights = history[[f"weight_{t}" for t in names]].to_numpy()
        assert len(history) == 3 and np.isfinite(history["loss"]).all() and (weights > 0).all(), history
        if weighting in ("gradnorm", "famo"):  # per step: sum K (GradNorm), 1 (FAMO); they move
            total = 3 if weighting == "gradnorm" else 1
            assert np.allclose(weights.sum(axis=1), total) and (weights != total / 3).all(), history
        if weighting in ("dwa", "rlw"):  # weights fixed in each epoch: the loss is their weighted sum
            losses = history[[f"{t}_loss" for t in names]].to_numpy()
            assert np.allclose(history["loss"], (weights * losses).sum(axis=1), rtol=1e-4), history
        doc = json.loads((out / "metrics.json").read_text())
        assert doc["training"]["weighting"]["name"] == weighting, doc["training"]
        keras.saving.load_model(out / "model.keras")
    print(f"ok runs {architecture}: {' '.join(weightings)}")


if __name__ == "__main__":
    if BACKEND == "torch":
        import torchjd.aggregation as tjd

        two = [TaskSpec("a", "binary"), TaskSpec("b", "binary")]
        three = [*two, TaskSpec("c", "binary")]
        from mtrl.backends.torch.gradients import bind
        from mtrl.weightings.famo import FAMO
        from mtrl.weightings.gradnorm import GradNorm

        check_steps_are_the_aggregation("pcgrad", two, aggregator=tjd.PCGrad())
        check_steps_are_the_aggregation("upgrad", three, aggregator=tjd.UPGrad())
        check_steps_are_the_aggregation("upgrad", three, aggregator=tjd.UPGrad(), jacobian_path=True)
        check_gramian_without_a_jacobian()
        names = [t.name for t in three]
        for reference in (GradNorm(names, 1.5, learning_rate=0.1), FAMO(names, 0.025, 0.001)):
            bind(reference)  # GradNorm: at the run's learning rate; FAMO: the schema's defaults
            check_steps_are_the_aggregation(reference.aggregator.lower(), three, reference=reference, steps=3)
        check_short_runs(sys.argv[1], ("pcgrad", "upgrad", "uw", "gradnorm", "famo"))
        check_non_finite_runs_fail_clearly(sys.argv[1], ("imtl_g", "upgrad", "gradnorm"))
        check_short_runs(sys.argv[1], ("pcgrad",), architecture="mmoe")
    else:
        check_short_runs(sys.argv[1], ("uw", "dwa", "rlw"))
