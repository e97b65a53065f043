"""Freezing the desktop app with PyInstaller (``branchsync.spec``) into one folder."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from installers.process import run

__all__ = ["ROOT", "SPEC", "app_dir", "executable", "freeze", "project_version"]

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "installers" / "branchsync.spec"
FREEZE_TIMEOUT = 1800


def project_version(root: Path = ROOT) -> str:
    """The version in ``pyproject.toml``: what the frozen app must report."""
    with (root / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


def app_dir(out: Path, platform: str) -> Path:
    """Where the frozen app lands: the one folder, or the ``.app`` bundle on macOS."""
    dist = out / "dist"
    return dist / "Branchsync.app" if platform == "macos" else dist / "branchsync"


def executable(out: Path, platform: str) -> Path:
    """The frozen command-line executable inside ``app_dir``."""
    folder = app_dir(out, platform)
    if platform == "macos":
        return folder / "Contents" / "MacOS" / "branchsync"
    return folder / ("branchsync.exe" if platform == "windows" else "branchsync")


def freeze_command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(out / "dist"),
        "--workpath",
        str(out / "work"),
        str(SPEC),
    ]


def freeze(out: Path, icons: Path, version: str) -> None:
    """Run PyInstaller with the spec; the app lands in ``out/dist`` (see ``app_dir``)."""
    env = {**os.environ, "BRANCHSYNC_ICON_DIR": str(icons), "BRANCHSYNC_VERSION": version}
    run(freeze_command(out), cwd=ROOT, env=env, timeout=FREEZE_TIMEOUT)
