"""Running the build's external programs: one place for finding them and reporting failures."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from installers.errors import StepFailed, ToolMissing

__all__ = ["OUTPUT_TAIL", "require_tool", "run"]

OUTPUT_TAIL = 4000
"""Characters of a failed program's output kept in the error."""


def require_tool(name: str, package: str) -> str:
    """The full path of program ``name``.

    Raises:
        ToolMissing: it is not on PATH; the message says which package provides it.
    """
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} is not installed (it comes with {package})")
    return found


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stdin: str | None = None,
) -> str:
    """Run a program to completion and return its stdout.

    Raises:
        StepFailed: it exited non-zero (or timed out); the error holds its output.
    """
    command = [os.fspath(arg) for arg in argv]
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=None if env is None else dict(env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        raise StepFailed(command, -1, f"timed out after {timeout} s\n{output[-OUTPUT_TAIL:]}") from exc
    if done.returncode != 0:
        raise StepFailed(command, done.returncode, (done.stdout + done.stderr)[-OUTPUT_TAIL:])
    return done.stdout


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
