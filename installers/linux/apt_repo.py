"""A signed apt repository holding every released ``.deb``, so branch PCs update through apt.

Layout (what ``deb [signed-by=…] URL stable main`` reads)::

    pool/main/b/branchsync/branchsync_<version>_<arch>.deb    every version ever published
    dists/stable/main/binary-<arch>/Packages(.gz)             name, version, size, SHA256 per .deb
    dists/stable/Release                                      size and SHA256 of each index
    dists/stable/InRelease, Release.gpg                       Release signed (inline, detached)
    branchsync-archive-keyring.gpg / .asc                     the public key, for signed-by

The chain apt checks, and ``verify_repository`` checks the same way: the signature on
``Release`` with the public key, the indexes' hashes in ``Release``, each ``.deb``'s hash
in ``Packages``. Changing any byte anywhere breaks one link.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from installers.errors import VerificationFailed
from installers.linux.deb import PACKAGE
from installers.linux.gpg import Signer, verify_clearsigned, verify_detached
from installers.process import require_tool, run

__all__ = [
    "COMPONENT",
    "KEYRING_NAME",
    "SUITE",
    "add_to_pool",
    "parse_stanzas",
    "publish",
    "verify_repository",
    "write_indexes",
]

SUITE = "stable"
COMPONENT = "main"
KEYRING_NAME = f"{PACKAGE}-archive-keyring"
APT_UTILS = "apt-utils (apt-get install apt-utils)"


def add_to_pool(repo: Path, deb: Path) -> Path:
    """Copy ``deb`` into the pool (an existing file of the same name is replaced whole)."""
    pool = repo / "pool" / COMPONENT / PACKAGE[0] / PACKAGE
    pool.mkdir(parents=True, exist_ok=True)
    target = pool / deb.name
    _replace(target, lambda temporary: shutil.copyfile(deb, temporary))
    return target


def write_indexes(repo: Path, *, origin: str = "Branchsync", label: str = "Branchsync") -> Path:
    """(Re)write ``Packages`` for every architecture in the pool, then ``Release``; return it.

    The indexes are made in a staging folder (so the old ``Release`` is not hashed into the
    new one) and moved into place file by file, indexes before ``Release``: a client
    reading the repository meanwhile never sees a half-written file.
    """
    ftparchive = require_tool("apt-ftparchive", APT_UTILS)
    dpkg_deb = require_tool("dpkg-deb", "dpkg")
    debs = sorted((repo / "pool").rglob("*.deb"))
    architectures = sorted({run([dpkg_deb, "--field", deb, "Architecture"]).strip() for deb in debs})
    dist = repo / "dists" / SUITE
    staging = dist.with_name(f".{SUITE}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    for architecture in architectures:
        folder = staging / COMPONENT / f"binary-{architecture}"
        folder.mkdir(parents=True)
        packages = run([ftparchive, "--arch", architecture, "packages", f"pool/{COMPONENT}"], cwd=repo)
        (folder / "Packages").write_text(packages)
        (folder / "Packages.gz").write_bytes(gzip.compress(packages.encode(), compresslevel=9, mtime=0))
    options = {
        "Origin": origin,
        "Label": label,
        "Suite": SUITE,
        "Codename": SUITE,
        "Architectures": " ".join(architectures),
        "Components": COMPONENT,
        "Description": "Branchsync desktop app",
    }
    settings = [f"-oAPT::FTPArchive::Release::{key}={value}" for key, value in options.items()]
    release = run([ftparchive, *settings, "release", "."], cwd=staging)
    for index in sorted(path for path in staging.rglob("*") if path.is_file()):
        target = dist / index.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(index, target)
    shutil.rmtree(staging)
    _replace(dist / "Release", lambda temporary: temporary.write_text(release))
    return dist / "Release"


def publish(repo: Path, debs: list[Path], signer: Signer) -> Path:
    """Add ``debs``, rewrite the indexes, sign ``Release`` and export the public key.

    Returns:
        The binary public keyring (``<repo>/branchsync-archive-keyring.gpg``).
    """
    for deb in debs:
        add_to_pool(repo, deb)
    release = write_indexes(repo)
    _replace(release.with_name("InRelease"), lambda temporary: signer.clearsign(release, temporary))
    _replace(release.with_name("Release.gpg"), lambda temporary: signer.detach_sign(release, temporary))
    keyring = repo / f"{KEYRING_NAME}.gpg"
    _replace(keyring, lambda temporary: signer.export_public_key(temporary, armor=False))
    _replace(repo / f"{KEYRING_NAME}.asc", lambda temporary: signer.export_public_key(temporary, armor=True))
    return keyring


def verify_repository(repo: Path, keyring: Path) -> list[Path]:
    """Check the whole chain as apt does; return the ``.deb`` files it vouches for.

    Raises:
        VerificationFailed: a signature, size or hash does not match (the message says which).
    """
    dist = repo / "dists" / SUITE
    release = dist / "Release"
    inline = verify_clearsigned(keyring, dist / "InRelease")
    verify_detached(keyring, dist / "Release.gpg", release)
    if inline != release.read_bytes():
        raise VerificationFailed(f"{dist / 'InRelease'} and {release} say different things")
    (fields,) = parse_stanzas(inline.decode())
    for line in fields.get("SHA256", "").splitlines():
        digest, size, name = line.split()
        _check(dist / name, int(size), digest)
    debs: list[Path] = []
    for index in sorted(dist.glob(f"{COMPONENT}/binary-*/Packages")):
        if not any(name == str(index.relative_to(dist)) for name in fields.get("SHA256", "").split()):
            raise VerificationFailed(f"{index} is not listed in the signed Release")
        for stanza in parse_stanzas(index.read_text()):
            deb = repo / stanza["Filename"]
            _check(deb, int(stanza["Size"]), stanza["SHA256"])
            debs.append(deb)
    return debs


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Debian control-file stanzas as dicts (continuation lines joined with newlines; pure)."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
        elif line[0] in " \t" and key:
            current[key] = f"{current[key]}\n{line.strip()}".strip()
        else:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write ``target`` through a temporary file renamed over it: whole or not at all, and a
    new file (never written through a hard link to an older copy of the repository)."""
    temporary = target.with_name(f".{target.name}.new")
    temporary.unlink(missing_ok=True)
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _check(path: Path, size: int, sha256: str) -> None:
    if not path.is_file():
        raise VerificationFailed(f"{path} is listed but missing")
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    if path.stat().st_size != size or digest != sha256:
        raise VerificationFailed(f"{path}: size or SHA256 differs from the signed index (tampered or stale)")
