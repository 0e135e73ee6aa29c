"""The package's import rules and size limits, read from the source (nothing is imported).

- no import cycle inside ``mtrl``;
- the light layers (data readers, configuration, aggregation, statistics, findings, plots and
  the small shared types) never import Keras or a backend, directly or through another mtrl
  module, so that a table pays no framework start-up;
- the backend registry, its base class and the process set-up load no framework at import
  (their methods import it when they run, after the backend is chosen);
- the warm worker imports nothing from training or data: it is a generic host;
- modules stay under :data:`MAX_MODULE_LINES` lines and functions under
  :data:`MAX_FUNCTION_LINES`, except the few listed with the reason they remain.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mtrl"
FRAMEWORKS = {"keras", "tensorflow", "torch", "jax", "jaxlib", "torchjd"}
LIGHT = (
    "mtrl.data",
    "mtrl.stats",
    "mtrl.findings",
    "mtrl.plots",
    "mtrl.aggregate",
    "mtrl.config",
    "mtrl.schema",
    "mtrl.schema_errors",
    "mtrl.kinds",
    "mtrl.spec",
    "mtrl.errors",
    "mtrl.run_inputs",
    "mtrl.couplings",
    "mtrl.tasks",
    "mtrl.metrics",
    "mtrl.correlations",
    "mtrl.report",
    "mtrl.io",
    "mtrl.logs",
    "mtrl.orphans",
    "mtrl.runlock",
    "mtrl.precision",
    "mtrl.prepare",
    "mtrl.ordering",
    "mtrl.plugins",
    "mtrl.architectures.presets",
    "mtrl.architectures.checks",
    "mtrl.sharing",
    "mtrl.seed_groups",
    "mtrl.weightings",
)
# framework-free at import time; their functions may import a framework once it is chosen
LAZY = (
    "mtrl.backends",
    "mtrl.backends.base",
    "mtrl.backends.torch",
    "mtrl.backends.jax",
    "mtrl.architectures",
    "mtrl.architectures.base",
    "mtrl.architectures.experts",
    "mtrl.architectures.cross_stitch",
    "mtrl.architectures.mmoe",
    "mtrl.architectures.ple",
    "mtrl.runtime",
    "mtrl.worker",
)
WORKER_MAY_IMPORT = ("mtrl.worker", "mtrl.logs", "mtrl.runtime")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# module or function -> why it is still over the limit (shrink this list, never grow it)
OVERSIZE: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, top_level_only: bool = False) -> set[str]:
    """Every module ``name`` imports (``from a import b`` gives ``a`` and ``a.b``)."""
    path = modules()[name]
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _internal(imported: set[str]) -> set[str]:
    return {m for m in imported if m in modules()}


def _is(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_import_cycle():
    graph = {name: _internal(_imports(name)) - {name} for name in modules()}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif not state.get(nxt):
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if not state.get(name):
            visit(name, [])
    assert not cycles, cycles


@pytest.mark.parametrize("name", [n for n in sorted(modules()) if _is(n, LIGHT)])
def test_light_layers_reach_no_framework(name):
    """Not directly, and not through any mtrl module they import (anywhere in their code)."""
    seen, todo, reached = {name}, [name], {}
    while todo:
        current = todo.pop()
        imported = _imports(current)
        for framework in {m.split(".")[0] for m in imported} & FRAMEWORKS:
            reached[framework] = current
        for nxt in _internal(imported) - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert not reached, f"{name} reaches {reached} (framework: the module that imports it)"


@pytest.mark.parametrize("name", [n for n in sorted(modules()) if n in LAZY or _is(n, ("mtrl.worker",))])
def test_registry_and_process_setup_load_no_framework_at_import(name):
    frameworks = {m.split(".")[0] for m in _imports(name, top_level_only=True)} & FRAMEWORKS
    assert not frameworks, f"{name} imports {sorted(frameworks)} at module level"


@pytest.mark.parametrize("name", [n for n in sorted(modules()) if _is(n, ("mtrl.worker",))])
def test_worker_imports_nothing_from_training_or_data(name):
    bad = sorted(m for m in _internal(_imports(name)) if not _is(m, WORKER_MAY_IMPORT))
    assert not bad, f"{name} imports {bad}"


def test_modules_and_functions_stay_small():
    over = []
    for name, path in modules().items():
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES and name not in OVERSIZE:
            over.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                qualified = f"{name}.{node.name}"
                if length > MAX_FUNCTION_LINES and qualified not in OVERSIZE:
                    over.append(f"{qualified}: {length} lines")
    assert not over, over


def test_oversize_list_names_only_what_is_still_over():
    """An entry of OVERSIZE goes once its module or function fits."""
    names = set(modules())
    for entry in OVERSIZE:
        module = entry if entry in names else entry.rpartition(".")[0]
        assert module in names, f"OVERSIZE names {entry}, which does not exist"
