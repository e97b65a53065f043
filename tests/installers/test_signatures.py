"""The signatures verify with the public key alone, and any tampering breaks the chain.

Checked twice: by ``verify_repository`` (what the build's verify step runs) and by apt
itself, reading the repository the way a branch PC does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from installers.errors import VerificationFailed
from installers.linux import apt_repo
from installers.linux.gpg import signer_from_environment, verify_detached
from tests.installers.conftest import LinuxBuild, make_gpg_key, point_apt_at

pytestmark = pytest.mark.timeout(900)  # the first test waits for the session's build

DIST = Path("dists") / "stable"


@pytest.fixture
def repo(linux_build: LinuxBuild, tmp_path: Path) -> Path:
    """A copy of the published repository to tamper with: hard links, which is safe because
    neither ``tamper`` nor ``publish`` ever writes into an existing file."""
    copy = tmp_path / "repo"
    shutil.copytree(linux_build.repo, copy, copy_function=os.link)
    return copy


def tamper(path: Path, old: bytes | None = None, new: bytes = b"") -> None:
    """Replace ``old`` by ``new`` in ``path`` (or flip one byte in its middle), as a new file."""
    data = path.read_bytes()
    if old is None:
        middle = len(data) // 2
        changed = data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
    else:
        assert old in data
        changed = data.replace(old, new, 1)
    path.unlink()
    path.write_bytes(changed)


def the_deb(repo: Path) -> Path:
    (deb,) = (repo / "pool").rglob("*.deb")
    return deb


def gpgv(keyring: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    argv = ["gpgv", "--keyring", str(keyring), *map(str, files)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_everything_verifies_with_the_public_key_alone(linux_build: LinuxBuild) -> None:
    repo, keyring, deb = linux_build.repo, linux_build.keyring, linux_build.deb
    assert gpgv(keyring, repo / DIST / "InRelease").returncode == 0
    assert gpgv(keyring, repo / DIST / "Release.gpg", repo / DIST / "Release").returncode == 0
    assert gpgv(keyring, Path(f"{deb}.asc"), deb).returncode == 0
    assert [path.name for path in apt_repo.verify_repository(repo, keyring)] == [deb.name]
    assert (repo / "branchsync-archive-keyring.asc").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK")


@pytest.mark.parametrize(
    ("where", "old", "new", "complaint"),
    [
        ("deb", None, b"", "SHA256 differs from the signed index"),
        ("Packages", b"Version: 0.1.0-1", b"Version: 0.1.0-9", "SHA256 differs from the signed index"),
        ("Release", b"Suite: stable", b"Suite: stahle", "signature does not verify"),
        ("InRelease", b"Suite: stable", b"Suite: stahle", "signature does not verify"),
    ],
)
def test_tampering_anywhere_fails_verification(
    repo: Path, linux_build: LinuxBuild, where: str, old: bytes | None, new: bytes, complaint: str
) -> None:
    target = {
        "deb": the_deb(repo),
        "Packages": repo / DIST / "main" / "binary-amd64" / "Packages",
        "Release": repo / DIST / "Release",
        "InRelease": repo / DIST / "InRelease",
    }[where]
    tamper(target, old, new)
    with pytest.raises(VerificationFailed, match=complaint):
        apt_repo.verify_repository(repo, linux_build.keyring)


def test_a_tampered_download_fails_its_detached_signature(repo: Path, linux_build: LinuxBuild) -> None:
    deb = the_deb(repo)
    tamper(deb)
    with pytest.raises(VerificationFailed, match="signature does not verify"):
        verify_detached(linux_build.keyring, Path(f"{linux_build.deb}.asc"), deb)


def test_a_repository_re_signed_with_another_key_is_refused(
    repo: Path, linux_build: LinuxBuild, tmp_path: Path
) -> None:
    attacker = make_gpg_key(tmp_path, "attacker")
    tamper(the_deb(repo))  # a modified package, with indexes and signatures that match it ...
    with signer_from_environment({"BRANCHSYNC_GPG_KEY_FILE": str(attacker.secret_file)}) as signer:
        apt_repo.publish(repo, [], signer)
    apt_repo.verify_repository(repo, attacker.public_keyring)  # ... consistent under the attacker's key,
    with pytest.raises(VerificationFailed, match="signature does not verify"):
        apt_repo.verify_repository(repo, linux_build.keyring)  # but not under ours
    assert apt_repo.verify_repository(linux_build.repo, linux_build.keyring)  # the published one is untouched


def apt(sandbox: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["apt-get", *sandbox, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_apt_reads_the_signed_repository(
    linux_build: LinuxBuild, apt_sandbox: list[str], tmp_path: Path
) -> None:
    point_apt_at(tmp_path / "sources.list", linux_build.repo, linux_build.keyring)
    updated = apt(apt_sandbox, "update")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "InRelease" in updated.stdout
    downloaded = apt(apt_sandbox, "download", "branchsync", cwd=tmp_path)
    assert downloaded.returncode == 0, downloaded.stdout + downloaded.stderr
    assert (tmp_path / linux_build.deb.name).read_bytes() == linux_build.deb.read_bytes()


def test_apt_refuses_a_tampered_release(
    repo: Path, linux_build: LinuxBuild, apt_sandbox: list[str], tmp_path: Path
) -> None:
    point_apt_at(tmp_path / "sources.list", repo, linux_build.keyring)
    tamper(repo / DIST / "InRelease", b"Suite: stable", b"Suite: stahle")
    updated = apt(apt_sandbox, "update")
    assert updated.returncode != 0 or "W:" in updated.stderr or "E:" in updated.stderr
    assert "signature" in (updated.stdout + updated.stderr).lower()


def test_apt_refuses_a_tampered_package(
    repo: Path, linux_build: LinuxBuild, apt_sandbox: list[str], tmp_path: Path
) -> None:
    point_apt_at(tmp_path / "sources.list", repo, linux_build.keyring)
    assert apt(apt_sandbox, "update").returncode == 0
    tamper(the_deb(repo))
    downloaded = apt(apt_sandbox, "download", "branchsync", cwd=tmp_path)
    assert downloaded.returncode != 0
    assert "Hash Sum mismatch" in downloaded.stderr or "unexpected size" in downloaded.stderr, downloaded
