"""Run the real ``branchsync`` console script in a subprocess against a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BRANCHSYNC = str(Path(sys.executable).parent / "branchsync")

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def branchsync(data_dir: Path) -> Run:
    """``branchsync(*args, env=None)``: run the console script with ``--data-dir`` set to ``data_dir``."""

    def run(
        *args: str, env: dict[str, str] | None = None, data: bool = True
    ) -> subprocess.CompletedProcess[str]:
        argv = [BRANCHSYNC, *(["--data-dir", str(data_dir)] if data else []), *args]
        environment = {**os.environ, **(env or {})}
        environment.pop("BRANCHSYNC_DEBUG", None)
        result = subprocess.run(
            argv, capture_output=True, text=True, env=environment, timeout=60, check=False
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    return run
