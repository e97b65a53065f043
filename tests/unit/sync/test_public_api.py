"""The engine's public surface, pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import importlib

import pytest

import desktop.sync

SURFACES = {
    "desktop.sync": ["CoreConfig", "EngineState", "Halt", "Phase", "StatusSnapshot", "SyncCore", "SyncError"],
    "desktop.sync.runner": ["Endpoint", "Runner", "RunnerConfig", "StatusCallback"],
    "desktop.sync.thread": ["SyncThread"],
    "desktop.sync.enrollment": ["Enrolled", "endpoint_for", "enroll_device", "normalise_server_url"],
    "desktop.config.credentials": [
        "KEYRING_SERVICE",
        "TOKEN_FILENAME",
        "CredentialsError",
        "Store",
        "delete_token",
        "load_token",
        "save_token",
    ],
}


@pytest.mark.parametrize("module", SURFACES)
def test_the_public_names_are_exactly_these(module: str) -> None:
    loaded = importlib.import_module(module)
    assert sorted(loaded.__all__) == sorted(SURFACES[module])
    for name in loaded.__all__:
        assert hasattr(loaded, name), name


def test_the_core_imports_no_io_library() -> None:
    """The sans-I/O core must not pull in asyncio, httpx, websockets, Qt or SQL."""
    import subprocess
    import sys

    probe = (
        "import sys, desktop.sync.core, desktop.sync.events, desktop.sync.actions;"
        "bad = [m for m in ('httpx', 'websockets', 'sqlalchemy', 'PySide6', 'asyncio', 'desktop.cache')"
        " if m in sys.modules]; print(','.join(bad))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == ""
    assert desktop.sync.SyncCore.__module__ == "desktop.sync.core"
