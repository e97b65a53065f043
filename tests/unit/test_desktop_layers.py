"""The desktop's import graph, pinned: layers that only look down, no cycles, no imports by string.

``config`` <- ``cache`` <- ``sync`` <- ``ui`` <- ``demo`` <- ``cli``: each package may import
only those to its left. Read from the source (every ``import`` statement, also those inside
functions, which is how the command line loads the engine and Qt only when used), so an
import that only runs later still counts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import desktop

ROOT = Path(desktop.__file__).parent
LAYERS = ("config", "cache", "sync", "ui", "demo", "cli")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """The desktop modules ``module`` imports (a package's own ``__init__`` left out)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}"
                elif base in MODULES:
                    yield base


def _graph() -> dict[str, set[str]]:
    return {
        module: {t for t in _imported(module, path) if t != module and not module.startswith(f"{t}.")}
        for module, path in MODULES.items()
    }


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_top_level_shows_the_layers() -> None:
    assert sorted(p.name for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()) == [
        "__init__.py",
        *sorted(LAYERS),
    ]


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if (low := _layer(module)) is not None
        and (high := _layer(target)) is not None
        and LAYERS.index(high) > LAYERS.index(low)
    )
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = _graph()
    done: set[str] = set()

    def cycle_from(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return [*trail[trail.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph[module]):
            if (found := cycle_from(target, [*trail, module])) is not None:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        assert cycle_from(module, []) is None


def test_nothing_is_imported_by_a_name_in_a_string() -> None:
    """``importlib.import_module("...")`` would hide an edge from the graph above."""
    users = sorted(
        module
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in ("import_module", "__import__"))
            or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
        )
    )
    assert users == []
