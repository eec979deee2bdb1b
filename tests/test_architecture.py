"""The shape of the code, checked: features plug into the platform, nothing imports in a
cycle, private modules stay private, modules stay small. Reads the source only (no
server), so it runs in the fast unit tier: `pytest -m unit`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from server.core.feature import ENTRY_POINT_GROUP

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("server", "lsp", "voice", "extensions", "plugins")
PLATFORM = ("server.app", "server.platform", "server.hub", "server.core", "server.api")
MAX_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that runs (anywhere, functions included), skipping what
    sits under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from _runtime_imports(node)


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:  # relative
        package = module.split(".")
        is_package = MODULES[module].name == "__init__.py"
        package = package[: len(package) - node.level + (1 if is_package else 0)]
        base = ".".join([*package, base] if base else package)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in MODULES else base


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[module] = {
            target
            for node in _runtime_imports(tree)
            for target in _imported(module, node)
            if target in MODULES and target != module
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _feature_packages() -> set[str]:
    packages = set()
    for point in entry_points(group=ENTRY_POINT_GROUP):
        module = point.value.split(":")[0]
        packages.add(module.rsplit(".", 1)[0] if module.endswith(".feature") else module)
    return packages


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_module_imports_in_a_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_platform_imports_no_feature() -> None:
    """The server, the hub, the core and the REST layer load features; they never name
    one, so a new capability is one package and one entry point."""
    features = _feature_packages()
    assert features, "no features are installed (pip install -e .)"
    offending = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if any(_within(module, platform) for platform in PLATFORM)
        for target in targets
        if any(_within(target, feature) for feature in features)
    )
    assert offending == []


def test_no_module_imports_another_packages_private_module() -> None:
    offending = []
    for module, targets in _graph().items():
        for target in targets:
            *package, last = target.split(".")
            if last.startswith("_") and not last.startswith("__"):
                owner = ".".join(package)
                if not _within(module, owner):
                    offending.append(f"{module} imports {target}")
    assert sorted(offending) == []


def test_no_product_module_is_over_400_lines() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_function_is_over_60_lines() -> None:
    """Migrations excepted: their `upgrade` is a list of table definitions, and an applied
    migration is never edited."""
    long = []
    for module, path in MODULES.items():
        if module.startswith("server.storage.migrations.versions."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {lines}")
    assert long == []
