"""A branch PC driven only through the ``branchsync`` command line of one release.

The mixed-versions test runs PCs of two releases side by side; the command line is the
interface that stays the same across them (IT scripts drive it: ``desktop/cli/parser.py``),
so everything here goes through it: ``enroll``, ``run`` (the engine, a process of its own),
``import`` of a CSV file to create and edit rows, ``delete``, ``export --format json`` and
``status --json``. The device token is in the data dir's private file (no OS keyring).
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.config.credentials import TOKEN_FILENAME
from tests.support.releases import Release

__all__ = ["CommandLinePC"]

_NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONUNBUFFERED": "1"}


@dataclass
class CommandLinePC:
    """One installation of ``release`` in ``data_dir``; ``start()`` runs its engine."""

    release: Release
    data_dir: Path
    engine: subprocess.Popen[str] | None = None
    _files: int = 0

    def branchsync(self, *args: str, timeout: float = 60) -> str:
        """Run one ``branchsync`` command to completion; its stdout (AssertionError if it failed)."""
        ran = subprocess.run(
            [sys.executable, "-m", "desktop.cli", "--data-dir", str(self.data_dir), *args],
            env=self.release.env() | _NO_KEYRING,
            cwd=self.release.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert ran.returncode == 0, f"{self.release.name}: branchsync {' '.join(args)}: {ran.stderr[-2000:]}"
        return ran.stdout

    def enroll(self, server_url: str, code: str, name: str) -> None:
        self.branchsync("enroll", "--server", server_url, "--code", code, "--name", name)

    def start(self) -> None:
        """Start ``branchsync run``; its output goes to a file (``engine_log``), not a pipe: a
        chatty engine never blocks on it."""
        assert self.engine is None, "already started"
        with self._log_path.open("a") as log:  # the engine has its own copy of the file
            self.engine = subprocess.Popen(
                [sys.executable, "-m", "desktop.cli", "--data-dir", str(self.data_dir), "run"],
                env=self.release.env() | _NO_KEYRING,
                cwd=self.release.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def stop(self) -> None:
        """Stop the engine as IT would (SIGTERM); AssertionError unless it exits cleanly."""
        if self.engine is None:
            return
        engine, self.engine = self.engine, None
        engine.send_signal(signal.SIGTERM)
        try:
            code = engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
            raise AssertionError(f"{self.release.name}: the engine hung: {self.engine_log()}") from None
        assert code == 0, f"{self.release.name}: the engine exited {code}: {self.engine_log()}"

    @property
    def _log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-engine.log"

    def engine_log(self) -> str:
        """The end of what the engine printed (empty before the first start)."""
        return self._log_path.read_text()[-4000:] if self._log_path.exists() else ""

    def write(self, collection: str, rows: list[dict[str, Any]]) -> None:
        """``branchsync import``: rows without an ``id`` are created, rows with one edited.

        An edited row names every column of the file: an empty cell would clear that field.
        """
        self._files += 1
        path = self.data_dir.parent / f"{self.data_dir.name}-{self._files}.csv"
        names = sorted({name for row in rows for name in row}, key=lambda name: name != "id")
        assert all(row.keys() == set(names) for row in rows if "id" in row), "an edit would clear fields"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
        self.branchsync("import", collection, str(path))

    def delete(self, collection: str, row_id: str) -> None:
        self.branchsync("delete", collection, row_id)

    def rows(self, collection: str) -> dict[str, dict[str, Any]]:
        """Row id -> fields of the live rows in the cache (``export --format json``)."""
        exported = json.loads(self.branchsync("export", collection, "--format", "json"))
        return {row.pop("id"): row for row in exported}

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(self.branchsync("status", "--json"))
        return status

    @property
    def token(self) -> str:
        return (self.data_dir / TOKEN_FILENAME).read_text().strip()
