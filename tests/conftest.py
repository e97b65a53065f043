"""Fixtures shared by the whole suite: a real PostgreSQL and a fresh database per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.support import postgres

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.support.sync_fixtures"]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Superuser URL of the PostgreSQL the suite runs against."""
    with postgres.admin_url() as url:
        yield url


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A new, empty database for one test (libpq URL); dropped afterwards."""
    url = asyncio.run(postgres.create_database(pg_admin_url))
    yield url
    asyncio.run(postgres.drop_database(pg_admin_url, url))


# ---- tests that time the app: run apart from the coverage tracer -----------------------------
# The tracer runs on every line of our code in every thread: it stretches the slowest turns of the
# GUI thread's event loop by half (tests/ui/test_responsiveness.py: 2 of 21 runs failed its 50 ms
# budget under coverage, none of 18 without), so a test that times them would measure the tracer,
# not the app. Under coverage such tests are deselected; `scripts/test` runs them in a second pass
# without it (`--timing-only`), on the same selection, so every run of it still runs them.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--timing-only",
        action="store_true",
        help="run only the tests marked 'timing' (scripts/test runs them after the measured pass)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "timing: times the app against a budget; run without coverage (see tests/conftest.py)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    timing_only = bool(config.getoption("--timing-only"))
    if not (timing_only or _coverage_is_measuring()):
        return
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        is_timing = item.get_closest_marker("timing") is not None
        (selected if is_timing == timing_only else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def _coverage_is_measuring() -> bool:
    """Whether coverage.py traces this process (pytest-cov's ``--cov``, or ``coverage run``)."""
    try:
        import coverage
    except ImportError:  # a run without the dev extras
        return False
    return coverage.Coverage.current() is not None
