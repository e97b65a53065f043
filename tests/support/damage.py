"""Ways a cache file gets damaged, done to a real closed SQLite file (deterministic garbage)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "DAMAGES",
    "PAGE",
    "emptied",
    "first_page_overwritten",
    "middle_pages_overwritten",
    "truncated_to_half",
]

PAGE = 4096
"""The cache's page size (SQLite's default)."""


def _garbage(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def truncated_to_half(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


def first_page_overwritten(path: Path) -> None:
    with path.open("r+b") as file:
        file.write(_garbage(PAGE, 1))


def middle_pages_overwritten(path: Path) -> None:
    """Three pages a third of the way in: inside the tables, not the header."""
    pages = path.stat().st_size // PAGE
    with path.open("r+b") as file:
        file.seek((pages // 3) * PAGE)
        file.write(_garbage(3 * PAGE, 2))


def root_page_overwritten(path: Path, table: str) -> None:
    """The first page of ``table``'s b-tree: every read of that table fails, the rest of the file reads."""
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * PAGE)
        file.write(_garbage(PAGE, 3))


DAMAGES: dict[str, Callable[[Path], None]] = {
    "empty": emptied,
    "truncated": truncated_to_half,
    "first-page": first_page_overwritten,
    "middle-pages": middle_pages_overwritten,
}
