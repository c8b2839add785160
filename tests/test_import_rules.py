"""The import rules of ``src/kerops``, read from the source with ``ast``.

Layers: ``core`` ← domains ← app. The app layer is the top-level modules (``main``, ``api``,
``cli``, ``demo``, ``worker``) and ``migrations``: it may import anything and no package imports
it. ``config`` and the package root may be imported by anyone.

Rules:
(a) no cycle between modules through their runtime module-level imports (imports inside
    functions run late and ``if TYPE_CHECKING:`` imports never run, so neither closes a cycle);
(b) no cycle between packages (``kerops.<pkg>``), counting every import: module-level,
    function-level and ``TYPE_CHECKING`` ones (a type a package names belongs to its layer too);
    no package imports the app layer (``core``'s imports of domains are left to (c), so that the
    package cycles listed are those between domains);
(a') no cycle between the modules of ``core``, counting every import (``core`` is the bottom
    layer: its modules stack, so that any of them can be read and tested alone);
(c) ``kerops.core`` imports no domain package (any kind of import, ``TYPE_CHECKING`` included).

What is not fixed yet is listed in the ``KNOWN_*`` allowlists below. They may only shrink: a
listed violation that no longer exists fails the test, so the lists stay true.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "kerops"

#: Top-level modules and packages of the app layer.
APP = frozenset({"main", "api", "cli", "demo", "worker", "migrations", "modules"})
#: Importable by every layer.
SHARED = frozenset({"config", ROOT})
#: Packages below the domains (besides ``core``) that ``core`` may import.
LOW = frozenset({"core", "speedups"})

# Known violations, to be emptied. Each entry must still exist.
#: Module cycles (a), each as its modules in sorted order.
KNOWN_MODULE_CYCLES: frozenset[tuple[str, ...]] = frozenset()
#: Cycles between modules of ``core`` counting every import (``TYPE_CHECKING`` and late ones too).
KNOWN_CORE_CYCLES: frozenset[tuple[str, ...]] = frozenset()
#: Package edges that close a package cycle (b), as (importer, imported).
KNOWN_PACKAGE_EDGES: frozenset[tuple[str, str]] = frozenset()
#: Packages importing the app layer (b), as (importer module, imported app module).
KNOWN_APP_IMPORTS: frozenset[tuple[str, str]] = frozenset()
#: Domain imports of ``core`` (c), as (core module, imported domain package).
KNOWN_CORE_IMPORTS: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    module_level: bool
    type_only: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((SRC / ROOT).rglob("*.py"))
        if "versions" not in path.relative_to(SRC / ROOT).parts
    }


MODULES = _modules()


def _resolve(name: str) -> str:
    """The longest known module that ``name`` is or lies in."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(
    node: ast.AST, *, module_level: bool, type_only: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, module_level, type_only
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, module_level=False, type_only=type_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(
                    ast.Module(body=[stmt], type_ignores=[]),
                    module_level=module_level,
                    type_only=True,
                )
            for stmt in child.orelse:
                yield from _walk(
                    ast.Module(body=[stmt], type_ignores=[]),
                    module_level=module_level,
                    type_only=type_only,
                )
        else:
            yield from _walk(child, module_level=module_level, type_only=type_only)


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node, module_level, type_only in _walk(tree, module_level=True, type_only=False):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.append(full if full in MODULES else base)
        for target in targets:
            if target == ROOT or target.startswith(ROOT + "."):
                resolved = _resolve(target)
                if resolved != module:
                    yield Import(module, resolved, node.lineno, module_level, type_only)


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT
    top = parts[1]
    if top in APP:
        return "app"
    if f"{ROOT}.{top}" in MODULES and not (SRC / ROOT / top).is_dir():
        return "config" if top == "config" else "app"
    return top


def _cycles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(tuple(sorted(component)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _where(source_pkg: str, target_pkg: str) -> str:
    lines = sorted(
        {
            f"{imp.source}:{imp.line} imports {imp.target}"
            for imp in IMPORTS
            if _package(imp.source) == source_pkg and _package(imp.target) == target_pkg
        }
    )
    return "; ".join(lines[:3]) + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else "")


def _check(
    name: str, found: AbstractSet[object], known: AbstractSet[object], explain: Mapping[Any, str]
) -> None:
    new = sorted(found - known, key=str)
    gone = sorted(known - found, key=str)
    messages = [f"new {name}: {item}\n    {explain.get(item, '')}" for item in new]
    messages += [f"{name} fixed, remove it from the allowlist: {item}" for item in gone]
    assert not messages, "\n".join(messages)


def test_the_graph_sees_every_kind_of_import() -> None:
    kinds = {(imp.module_level, imp.type_only) for imp in IMPORTS}
    assert {(True, False), (False, False), (True, True)} <= kinds
    assert len(MODULES) > 100


def test_no_module_level_import_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.module_level and not imp.type_only:
            edges.setdefault(imp.source, set()).add(imp.target)
    found = set(_cycles(edges))
    explain = {
        cycle: "; ".join(
            f"{imp.source}:{imp.line} imports {imp.target}"
            for imp in IMPORTS
            if imp.module_level
            and not imp.type_only
            and imp.source in cycle
            and imp.target in cycle
        )
        for cycle in found
    }
    _check("module import cycle", set(found), KNOWN_MODULE_CYCLES, explain)


def test_no_cycle_inside_core() -> None:
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if _package(imp.source) == _package(imp.target) == "core":
            edges.setdefault(imp.source, set()).add(imp.target)
    found = set(_cycles(edges))
    explain = {
        cycle: "; ".join(
            f"{imp.source}:{imp.line} imports {imp.target}"
            for imp in IMPORTS
            if imp.source in cycle and imp.target in cycle
        )
        for cycle in found
    }
    _check("cycle inside core", set(found), KNOWN_CORE_CYCLES, explain)


def _package_edges() -> set[tuple[str, str]]:
    return {
        (_package(imp.source), _package(imp.target))
        for imp in IMPORTS
        if _package(imp.source) != _package(imp.target)
    }


def test_no_package_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for source, target in _package_edges():
        # core's imports of domains are rule (c)'s; counted here they would put every package
        # in one cycle through core.
        lowered = source in LOW and target not in LOW
        if source != "app" and target not in SHARED and target != "app" and not lowered:
            edges.setdefault(source, set()).add(target)
    cyclic: set[tuple[str, str]] = set()
    for component in _cycles(edges):
        members = set(component)
        cyclic |= {(s, t) for s in members for t in edges.get(s, ()) if t in members}
    explain = {edge: _where(*edge) for edge in cyclic}
    _check("package cycle edge", cyclic, KNOWN_PACKAGE_EDGES, explain)


def test_no_package_imports_the_app_layer() -> None:
    found = {
        (imp.source, imp.target)
        for imp in IMPORTS
        if _package(imp.target) == "app" and _package(imp.source) not in ("app", ROOT)
    }
    _check("import of the app layer", found, KNOWN_APP_IMPORTS, {})


def test_core_imports_no_domain() -> None:
    found: set[tuple[str, str]] = set()
    explain: dict[tuple[str, str], str] = {}
    for imp in IMPORTS:
        target = _package(imp.target)
        if _package(imp.source) == "core" and target not in LOW | SHARED:
            found.add((imp.source, target))
            explain[(imp.source, target)] = f"{imp.source}:{imp.line} imports {imp.target}"
    _check("domain import of core", found, KNOWN_CORE_IMPORTS, explain)


@pytest.mark.parametrize("package", sorted({_package(m) for m in MODULES} - {"app", ROOT}))
def test_every_package_is_a_folder_or_shared(package: str) -> None:
    assert package in SHARED or (SRC / ROOT / package).is_dir()
