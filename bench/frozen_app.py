"""The frozen app: package size, installed size, and start to window from the built binary.

Reads an ``installers/build.py`` output folder (``--build``, default ``build/``) for the
.deb's size and its installed size, then starts the frozen ``branchsync`` offscreen
(``BRANCHSYNC_EXIT_WHEN_READY=1``) and times, from spawning the process to the line it
prints at the first paint of its first window:

* first start: an empty data dir, so the window is the enrolment dialog;
* an enrolled PC with 100,000 cached clients whose server is unreachable (the main
  window, offline: nothing waits for the network).

The same two starts from the source tree (``python -m desktop.cli``) are timed for
comparison. Usage: ``python bench/frozen_app.py [--build DIR] [--runs N] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _ui_setup import ROOT, filled_data_dir, machine_line, summary

from desktop.cache import Cache
from desktop.config.credentials import save_token
from desktop.ui.startup_probe import READY_ENV, READY_MARKER

COUNT = 100_000


def start_to_window(command: list[str], data_dir: Path, scratch: Path) -> float:
    """Milliseconds from spawning ``command --data-dir DIR`` to its window-ready line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BRANCHSYNC_")}
    env.update(
        HOME=str(scratch),
        XDG_CONFIG_HOME=str(scratch / "config"),
        QT_QPA_PLATFORM="offscreen",
        BRANCHSYNC_MACHINE_CONFIG=str(scratch / "none.toml"),
        PYTHONPATH=str(ROOT),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        **{READY_ENV: "1"},
    )
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if READY_MARKER in line:
            elapsed = (time.perf_counter() - started) * 1000
            break
    else:
        raise SystemExit(f"{command[0]} never showed a window (exit {child.wait()})")
    child.stdout.read()
    if child.wait(timeout=60) != 0:
        raise SystemExit(f"{command[0]} did not quit cleanly")
    return elapsed


def enrolled_offline(work: Path) -> Path:
    """A copy of the 100,000-client cache, enrolled with a server that is not there."""
    data_dir = filled_data_dir(work, COUNT, fresh_copy="enrolled-offline")
    with Cache(data_dir) as cache:
        cache.set_enrollment(
            device_id="bench-device",
            branch_id="bench-branch",
            branch_name="North",
            server_url="http://127.0.0.1:9",
        )
    save_token(data_dir, "bench-device", "not-a-real-token")
    return data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "branchsync-bench-ui")
    args = parser.parse_args()
    report = json.loads((args.build / "build-report.json").read_text())
    deb = Path(report["artifacts"]["deb"])
    print(machine_line())
    print(f"package   {deb.name}: {deb.stat().st_size / 2**20:.1f} MiB")
    print(f"installed {report['figures']['installed_size_bytes'] / 2**20:.1f} MiB (dpkg Installed-Size)")
    args.dir.mkdir(parents=True, exist_ok=True)
    enrolled = enrolled_offline(args.dir)
    frozen = [str(Path(report["artifacts"]["app"]) / "branchsync")]
    source = [sys.executable, "-m", "desktop.cli"]
    for label, command in (("frozen", frozen), ("source", source)):
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            first = [start_to_window(command, scratch / f"empty-{n}", scratch) for n in range(args.runs)]
            main_window = [start_to_window(command, enrolled, scratch) for _ in range(args.runs)]
        print(summary(f"{label}: first start to enrolment dialog", first))
        print(summary(f"{label}: enrolled, {COUNT:,} clients, to main window", main_window))


if __name__ == "__main__":
    main()
