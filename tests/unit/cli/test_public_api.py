"""The command line's module surfaces, pinned (the command line itself is pinned in tests/integration/cli)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

SURFACES = {
    "desktop.cli": ["main"],
    "desktop.cli.engine": ["enroll", "run", "sync_once"],
    "desktop.cli.exit_codes": [
        "EXIT_INTERNAL",
        "EXIT_INTERRUPTED",
        "EXIT_OK",
        "EXIT_REFUSED",
        "EXIT_STORAGE",
        "EXIT_UNREACHABLE",
        "EXIT_USAGE",
    ],
}


@pytest.mark.parametrize("module", SURFACES)
def test_the_public_names_are_exactly_these(module: str) -> None:
    loaded = importlib.import_module(module)
    assert sorted(loaded.__all__) == sorted(SURFACES[module])
    for name in loaded.__all__:
        assert hasattr(loaded, name), name


def test_the_exit_codes_keep_their_numbers() -> None:
    """IT scripts branch on them (see the table in desktop/cli/exit_codes.py)."""
    from desktop.cli import exit_codes

    numbers = {name: getattr(exit_codes, name) for name in exit_codes.__all__}
    assert numbers == {
        "EXIT_OK": 0,
        "EXIT_REFUSED": 1,
        "EXIT_USAGE": 2,
        "EXIT_UNREACHABLE": 3,
        "EXIT_STORAGE": 4,
        "EXIT_INTERNAL": 70,
        "EXIT_INTERRUPTED": 130,
    }


def test_the_local_commands_load_neither_the_engine_nor_qt() -> None:
    """The engine's commands and the window are imported only when they run."""
    probe = (
        "import sys, desktop.cli; bad = [m for m in ('desktop.sync', 'desktop.cli.engine', 'httpx',"
        " 'websockets', 'PySide6', 'desktop.ui', 'desktop.demo') if m in sys.modules]; print(','.join(bad))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == ""
