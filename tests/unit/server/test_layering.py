"""The server's packages import each other in one direction only, and nothing in a cycle.

The layers, lowest first (a module may import its own package and any lower layer)::

    protocol                                  the contract, shared with the desktop
    server.settings, server.errors,           configuration, the exception root and the
    server.background                         task helpers: every layer uses them, and
                                              they import nothing of the server
    store                                     PostgreSQL: engine, tables, codec, change log
    sync | identity | realtime                peers: none imports another
    observability                             metrics, readiness, fleet view, logs
    api                                       routes, dependencies, the runtime they reach
    ops                                       admin, backups, housekeeping, the dashboard
                                              (served through the API's dependencies)
    app                                       the one module that wires everything
    cli                                       runs the app (and the admin commands)
    __main__                                  ``python -m server``

That is the issue's ``protocol ← store ← {sync, identity, realtime} ← {api, ops,
observability} ← app, cli`` with the last middle set put in the order its imports
need (the dashboard uses the API's dependencies, routes show observability's figures).
Imports are read with ``ast``: plain, ``from``, those under ``TYPE_CHECKING`` or inside
functions, and ``importlib.import_module("...")`` strings alike.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import server

ROOT = Path(server.__file__).parent

LAYERS: dict[str, int] = {
    "settings": 0,
    "errors": 0,
    "background": 0,
    "store": 1,
    "sync": 2,
    "identity": 2,
    "realtime": 2,
    "observability": 3,
    "api": 4,
    "ops": 5,
    "app": 6,
    "cli": 7,
    "__main__": 8,
}
"""Each top-level module or package of ``server`` and its layer; ``__init__`` imports nothing."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted(ROOT.rglob("*.py"))
    if "migrations" not in path.relative_to(ROOT).parts  # Alembic scripts, loaded by Alembic
}


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every module name ``tree`` imports (``from a import b`` is ``a.b`` when that is a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                yield f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
            and node.args
        ):
            argument = node.args[0]
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), (
                f"{module} imports a module whose name is computed at run time"
            )
            yield argument.value


def _server_imports(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        name
        for name in _imported(tree, module, path.name == "__init__.py")
        if name in MODULES and name not in (module, "server")
    }


GRAPH = {module: _server_imports(module) for module in MODULES}


def _group(module: str) -> str:
    return module.split(".")[1] if module != "server" else "__init__"


def test_every_part_of_the_server_has_a_layer() -> None:
    groups = {_group(module) for module in MODULES} - {"__init__"}
    assert groups == set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module: str) -> None:
    group = _group(module)
    wrong = sorted(
        name
        for name in GRAPH[module]
        if _group(name) != group and (group == "__init__" or LAYERS[_group(name)] >= LAYERS[group])
    )
    assert not wrong, f"{module} ({group}) must not import {wrong}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state and (found := visit(successor)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_module_import_cycle() -> None:
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH) or [])


def test_no_package_import_cycle() -> None:
    packages: dict[str, set[str]] = {}
    for module, names in GRAPH.items():
        packages.setdefault(_group(module), set()).update(
            _group(n) for n in names if _group(n) != _group(module)
        )
    assert _cycle(packages) is None, " -> ".join(_cycle(packages) or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_importlib_strings_count_as_imports() -> None:
    tree = ast.parse('import importlib\nimportlib.import_module("server.app")')
    assert "server.app" in set(_imported(tree, "server.store.engine", is_package=False))
