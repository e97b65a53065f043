"""Branchsync as released before: built from git and run beside the tree under test.

A ``Release`` is a package to run: the tree under test (``CURRENT``, the editable
install) or one built from an older commit into a folder of its own. Both run with
this interpreter and its installed third-party libraries; an older release's folder
goes first on ``PYTHONPATH`` and is the working directory (``python -m`` puts the
working directory before ``PYTHONPATH``), so its ``protocol``, ``server`` and
``desktop`` are the ones imported. Coverage is left out of an older release's
processes: its files are not the tree's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CURRENT", "PREVIOUS_RELEASE", "Release", "build_release"]

PREVIOUS_RELEASE = "e220b8858f271bae8a85c5b3ddceb8ee0344e109"
"""The release the mixed-versions test (tests/integration/versions) runs against the tree.

Bump it at each release to the commit of the release before it (the last one the
fleet may still run). e220b88: the server before per-device answers (migration 0007)
and the HLC-node rule, the engine before the NTP-style clock filter, close code 4409
and the 422s for bad input.
"""

_PACKAGES = ("protocol", "server", "desktop")
_REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Release:
    """A Branchsync package to run: ``path`` holds its packages, or None for the tree under test."""

    name: str
    path: Path | None = None

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's environment) made to run this release."""
        env = dict(os.environ if base is None else base)
        if self.path is None:
            return env
        return _without_coverage(env) | {"PYTHONPATH": str(self.path)}

    @property
    def cwd(self) -> Path | None:
        """The working directory its processes start in (None: this process's)."""
        return self.path

    def python(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """``python ARGS`` of this release, run to completion."""
        return subprocess.run(
            [sys.executable, *args],
            env=self.env(),
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


CURRENT = Release("current")


def build_release(commit: str, into: Path) -> Release:
    """Build the package of ``commit`` (``git archive``, then ``pip install --target``) into ``into``.

    Raises:
        RuntimeError: the commit is not in this clone (say how to get it), or the build failed.
    """
    found = _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}")
    if found.returncode != 0:
        raise RuntimeError(
            f"commit {commit} (tests/support/releases.py PREVIOUS_RELEASE) is not in {_REPOSITORY}: "
            "the mixed-versions test needs the full history (`git fetch --unshallow`, or a full clone)"
        )
    source, target = into / "source", into / "package"
    source.mkdir(parents=True)
    archive = into / "source.tar"
    _check(_git("archive", "--format=tar", f"--output={archive}", commit), "git archive")
    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")
    # with build isolation: the old pyproject names the setuptools it builds with
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    built = subprocess.run(
        [*pip, str(source)],
        env=_without_coverage(dict(os.environ)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    _check(built, "pip install")
    release = Release(commit[:7], target)
    _check_imports(release)
    return release


def _check_imports(release: Release) -> None:
    """Fail unless the release's processes import its own packages, not the tree's."""
    files = ", ".join(f"{package}.__file__" for package in _PACKAGES)
    code = f"import json, {', '.join(_PACKAGES)}; print(json.dumps([{files}]))"
    ran = release.python("-c", code)
    _check(ran, "importing the release")
    assert release.path is not None
    stray = [file for file in json.loads(ran.stdout) if not Path(file).is_relative_to(release.path)]
    if stray:
        raise RuntimeError(f"release {release.name} imports the tree's packages: {stray}")


def _without_coverage(env: dict[str, str]) -> dict[str, str]:
    """``env`` without what starts coverage in a subprocess (``[tool.coverage.run] patch``)."""
    return {k: v for k, v in env.items() if not k.startswith(("COVERAGE_", "COV_CORE_"))}


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(_REPOSITORY), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _check(ran: subprocess.CompletedProcess[str], what: str) -> None:
    if ran.returncode != 0:
        raise RuntimeError(f"{what} failed ({ran.returncode}): {(ran.stderr or ran.stdout)[-2000:]}")
