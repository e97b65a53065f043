"""Where the data lives: ``--data-dir``, then ``BRANCHSYNC_DATA_DIR``, then the user data dir."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from desktop.config.paths import DATA_DIR_ENV, database_path, resolve_data_dir


def test_the_command_line_wins_over_the_environment(tmp_path: Path) -> None:
    chosen = resolve_data_dir(tmp_path / "cli", {DATA_DIR_ENV: str(tmp_path / "env")})
    assert chosen == tmp_path / "cli"


def test_the_environment_wins_over_the_default(tmp_path: Path) -> None:
    assert resolve_data_dir(None, {DATA_DIR_ENV: str(tmp_path / "env")}) == tmp_path / "env"


def test_the_default_is_the_platform_user_data_dir() -> None:
    assert resolve_data_dir(None, {}) == Path(platformdirs.user_data_dir("branchsync", appauthor=False))


def test_relative_and_home_paths_are_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir("rel", {}) == tmp_path / "rel"
    assert resolve_data_dir("~/bs", {}) == tmp_path / "home" / "bs"
    assert database_path(tmp_path).name == "branchsync.sqlite3"
