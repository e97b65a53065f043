"""The previous release, built once per session from git (``tests/support/releases.py``)."""

from __future__ import annotations

import pytest

from tests.support.releases import PREVIOUS_RELEASE, Release, build_release


@pytest.fixture(scope="session")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """The package of ``PREVIOUS_RELEASE``, built from this clone's history (never skipped:
    a clone without that commit fails, saying how to fetch it)."""
    return build_release(PREVIOUS_RELEASE, tmp_path_factory.mktemp("previous-release"))
