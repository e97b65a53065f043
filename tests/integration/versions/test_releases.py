"""Building a previous release: a clone without its commit fails and says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.releases import build_release


def test_a_commit_missing_from_the_clone_fails_with_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"needs the full history \(`git fetch --unshallow`"):
        build_release("0" * 40, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing was built
