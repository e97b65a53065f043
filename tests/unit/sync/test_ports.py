"""The engine's port to the cache: the real cache fits it, and it holds exactly the calls the runner makes."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import desktop.sync.runner
from desktop.cache import Cache
from desktop.sync.ports import CachePort

PORT = sorted(name for name in vars(CachePort) if not name.startswith("_"))


def test_the_real_cache_fits_the_port(tmp_path: Path) -> None:
    with Cache(tmp_path) as cache:
        port: CachePort = cache  # mypy checks the signatures; this checks the names at run time
        assert all(callable(getattr(port, name)) for name in PORT)


def test_the_port_is_exactly_what_the_runner_calls() -> None:
    tree = ast.parse(inspect.getsource(desktop.sync.runner))
    called = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_cache"
    }
    assert sorted(called) == PORT
