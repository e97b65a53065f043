"""Smoke tests of the frozen app: does the built artifact, not the source tree, actually run?

Each check runs the frozen executable in a fresh, empty home and data dir, with no
machine-wide config, so nothing on the build host can make it pass by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from desktop.ui.startup_probe import READY_ENV, READY_MARKER
from installers.errors import SmokeTestFailed

__all__ = [
    "SmokeReport",
    "check_status",
    "check_version",
    "check_window",
    "isolated_env",
    "smoke_test",
]

STATUS_KEYS = {  # the keys IT scripts rely on; newer versions may add more
    "device_id",
    "branch",
    "server",
    "online",
    "cursor",
    "pending",
    "rejected",
    "conflicts",
    "last_sync",
    "clock_offset_ms",
}
TIMEOUT = 120


@dataclass(frozen=True, slots=True)
class SmokeReport:
    """What the smoke test saw."""

    version: str
    status: dict[str, object]
    window_ms: float
    """Process start to its first window painted (the enrolment dialog on a first start)."""


def smoke_test(executable: Path, expected_version: str) -> SmokeReport:
    """Run every check against ``executable``.

    Raises:
        SmokeTestFailed: a check did not pass (the message says what came out).
    """
    with tempfile.TemporaryDirectory(prefix="branchsync-smoke-") as scratch:
        env = isolated_env(Path(scratch))
        version = check_version(executable, expected_version, env)
        status = check_status(executable, Path(scratch) / "data", env)
        window_ms = check_window(executable, Path(scratch) / "data", env)
    return SmokeReport(version, status, window_ms)


def isolated_env(scratch: Path) -> dict[str, str]:
    """The environment of a first start: empty home and config dirs, no machine-wide config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BRANCHSYNC_", "XDG_"))}
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        APPDATA=str(home / "AppData" / "Roaming"),
        LOCALAPPDATA=str(home / "AppData" / "Local"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_RUNTIME_DIR=str(scratch),
        BRANCHSYNC_MACHINE_CONFIG=str(scratch / "no-machine-config.toml"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def check_version(executable: Path, expected: str, env: dict[str, str]) -> str:
    out = _run([executable, "--version"], env)
    if out.strip() != f"branchsync {expected}":
        raise SmokeTestFailed(
            f"`branchsync --version` printed {out.strip()!r}, expected 'branchsync {expected}' "
            "(stale metadata? reinstall the project with `pip install -e .` and rebuild)"
        )
    return expected


def check_status(executable: Path, data_dir: Path, env: dict[str, str]) -> dict[str, object]:
    out = _run([executable, "--data-dir", data_dir, "status", "--json"], env)
    try:
        status = json.loads(out)
    except ValueError as exc:
        raise SmokeTestFailed(f"`status --json` did not print JSON: {out[:500]!r}") from exc
    if not isinstance(status, dict) or not set(status) >= STATUS_KEYS:
        missing = sorted(STATUS_KEYS - set(status))
        raise SmokeTestFailed(f"`status --json` keys are {sorted(status)}, missing {missing}")
    if status["device_id"] is not None or status["pending"] != 0 or status["cursor"] != 0:
        raise SmokeTestFailed(f"an empty data dir should be un-enrolled with nothing pending: {status}")
    return status


def check_window(executable: Path, data_dir: Path, env: dict[str, str]) -> float:
    """Start the window offscreen, see it shown and quit cleanly; return ms from start to shown."""
    command = [str(executable), "--data-dir", str(data_dir)]
    seen: list[str] = []
    ready_ms: float | None = None
    started = time.perf_counter()
    with subprocess.Popen(
        command, env={**env, READY_ENV: "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        watchdog = threading.Timer(TIMEOUT, process.kill)  # a hung app ends the read loop below
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                seen.append(line)
                if ready_ms is None and READY_MARKER in line:
                    ready_ms = (time.perf_counter() - started) * 1000
            code = process.wait()
        finally:
            watchdog.cancel()
    output = "".join(seen)[-3000:]
    if ready_ms is None:
        raise SmokeTestFailed(f"the window never reported it was shown (exit {code}); it printed:\n{output}")
    if code != 0:
        raise SmokeTestFailed(f"the window was shown but did not quit cleanly (exit {code}):\n{output}")
    return ready_ms


def _run(argv: list[str | Path], env: dict[str, str]) -> str:
    """Run the frozen app; its stdout and stderr together, or SmokeTestFailed."""
    command = [str(arg) for arg in argv]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SmokeTestFailed(f"`{' '.join(command)}` did not finish in {TIMEOUT} s") from exc
    except OSError as exc:
        raise SmokeTestFailed(f"cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        raise SmokeTestFailed(
            f"`{' '.join(command)}` exited with {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return done.stdout + done.stderr
