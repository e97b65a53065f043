"""Fixtures for the cache tests: a real SQLite file in a temp dir and a wall clock the test drives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.cache import Cache
from tests.unit.cache.helpers import FakeWall


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def cache(data_dir: Path, wall: FakeWall) -> Iterator[Cache]:
    with Cache(data_dir, wall_ms=wall) as opened:
        yield opened
