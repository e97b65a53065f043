"""Fixtures of the installer tests: a throwaway GPG key, and one real Linux build per session.

The build is the real command (``installers/build.py``) in a subprocess: PyInstaller,
the frozen app's smoke test, the .deb, the signed apt repository and its verification.
It runs once per session (about a minute: most of it PyInstaller and compressing the
.deb) and every test of the build looks at its output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from installers.freeze import ROOT

BUILD_TIMEOUT = 900


@dataclass(frozen=True)
class GpgKey:
    """A throwaway signing key: the exported secret key, the public keyring, the fingerprint."""

    secret_file: Path
    public_keyring: Path
    fingerprint: str


def make_gpg_key(folder: Path, name: str) -> GpgKey:
    """Generate an ed25519 signing key in a temporary keyring and export it to ``folder``."""
    home = Path(tempfile.mkdtemp(prefix="bs-test-gpg-"))  # short: gpg-agent's socket path is limited
    gpg = ["gpg", "--homedir", str(home), "--batch"]
    try:
        subprocess.run(
            [
                *gpg,
                "--passphrase",
                "",
                "--quick-gen-key",
                f"{name} <{name}@branchsync.invalid>",
                "ed25519",
                "sign",
                "1d",
            ],
            check=True,
            capture_output=True,
        )
        listing = subprocess.run(
            [*gpg, "--with-colons", "--list-secret-keys"], check=True, capture_output=True, text=True
        ).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        secret, public = folder / f"{name}-secret.asc", folder / f"{name}-public.gpg"
        subprocess.run(
            [*gpg, "--armor", "--output", str(secret), "--export-secret-keys", fingerprint], check=True
        )
        subprocess.run([*gpg, "--output", str(public), "--export", fingerprint], check=True)
        return GpgKey(secret, public, fingerprint)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def gpg_key(tmp_path_factory: pytest.TempPathFactory) -> GpgKey:
    """The release key of these tests (never a real one)."""
    return make_gpg_key(tmp_path_factory.mktemp("keys"), "release")


@dataclass(frozen=True)
class LinuxBuild:
    """What one run of ``installers/build.py`` produced."""

    out: Path
    report: dict[str, dict[str, object]]
    seconds: float

    def artifact(self, kind: str) -> Path:
        return Path(str(self.report["artifacts"][kind]))

    @property
    def deb(self) -> Path:
        return self.artifact("deb")

    @property
    def repo(self) -> Path:
        return self.artifact("repo")

    @property
    def keyring(self) -> Path:
        return self.artifact("keyring")


def run_build(out: Path, key: GpgKey, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BRANCHSYNC_GPG_KEY_FILE": str(key.secret_file), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "installers" / "build.py"),
            "--out",
            str(out),
            "--deb-compression",
            "zstd",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="session")
def linux_build(tmp_path_factory: pytest.TempPathFactory, gpg_key: GpgKey) -> LinuxBuild:
    """The real build, signed with the throwaway key (zstd: the suite's time; releases use xz)."""
    out = tmp_path_factory.mktemp("build")
    started = time.perf_counter()
    done = run_build(out, gpg_key)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        output = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        pytest.fail(f"installers/build.py failed ({done.returncode}):\n{output}")
    report = json.loads((out / "build-report.json").read_text())
    print(f"\ninstallers/build.py took {seconds:.0f} s: {report['seconds']}")
    return LinuxBuild(out, report, seconds)


@pytest.fixture
def apt_sandbox(tmp_path: Path) -> Iterator[list[str]]:
    """``apt-get`` options that read only our repository and keep apt's state in ``tmp_path``."""
    lists, archives = tmp_path / "apt-lists", tmp_path / "apt-archives"
    for folder in (lists / "partial", archives / "partial"):
        folder.mkdir(parents=True)
    yield [
        "-o",
        f"Dir::Etc::SourceList={tmp_path / 'sources.list'}",
        "-o",
        "Dir::Etc::SourceParts=/dev/null",
        "-o",
        f"Dir::State::Lists={lists}",
        "-o",
        f"Dir::Cache::Archives={archives}",
        "-o",
        "Dir::Cache::pkgcache=",
        "-o",
        "Dir::Cache::srcpkgcache=",
        "-o",
        "APT::Sandbox::User=root",
    ]


def point_apt_at(sources: Path, repo: Path, keyring: Path) -> None:
    """The one line IT adds to a branch PC: our repository, trusted through our key only."""
    sources.write_text(f"deb [signed-by={keyring}] file:{repo} stable main\n")
