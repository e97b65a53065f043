"""The ``.deb``: the frozen app under /opt/branchsync, a command on PATH, a menu entry, IT's config.

Layout of the package::

    /opt/branchsync/                 the PyInstaller folder (branchsync + _internal/)
    /usr/bin/branchsync              symlink to /opt/branchsync/branchsync
    /usr/share/applications/branchsync.desktop
    /usr/share/icons/hicolor/<n>x<n>/apps/branchsync.png
    /usr/share/doc/branchsync/copyright
    /etc/branchsync/config.toml      conffile: IT's edits survive upgrades, purge removes it

No maintainer scripts: the menu and icon caches are refreshed by the triggers of
desktop-file-utils and hicolor-icon-theme. ``Depends`` comes from dpkg-shlibdeps over
every ELF file, so the system libraries the bundled Qt needs (X11, GL, fontconfig …)
are pulled in by apt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from installers.errors import BuildError
from installers.process import require_tool, run

__all__ = [
    "CONFFILE",
    "INSTALL_DIR",
    "PACKAGE",
    "DebInfo",
    "build_deb",
    "control_text",
    "debian_version",
    "installed_size_kib",
    "md5sums",
    "shlib_depends",
    "stage",
]

PACKAGE = "branchsync"
INSTALL_DIR = Path("/opt") / PACKAGE
CONFFILE = Path("/etc") / PACKAGE / "config.toml"
HERE = Path(__file__).resolve().parent
MACHINE_CONFIG_TEMPLATE = HERE.parent / "machine-config.toml"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
DEFAULT_MAINTAINER = "Branchsync packaging <packaging@branchsync.invalid>"
DESCRIPTION = """\
Offline-first client and appointment records for every branch
 Branchsync keeps one set of business records identical across every branch of a
 company and keeps working through internet outages: edits are queued locally and
 sync when the link returns. This is the desktop app (window and command line)."""


@dataclass(frozen=True, slots=True)
class DebInfo:
    """The control fields that vary from build to build."""

    version: str
    architecture: str
    depends: str
    installed_size_kib: int
    maintainer: str = DEFAULT_MAINTAINER


def debian_version(upstream: str, revision: int = 1) -> str:
    """A Debian version for a PEP 440 one: pre-releases sort before the release (``~``).

    >>> debian_version("1.2.0rc1")
    '1.2.0~rc1-1'
    """
    if revision < 1:
        raise ValueError("the Debian revision starts at 1")
    text = re.sub(r"(?<=\d)\.?(a|b|rc|dev)(?=\d)", r"~\1", upstream.lower())
    if not re.fullmatch(r"[0-9][A-Za-z0-9.+~]*", text):
        raise BuildError(f"{upstream!r} cannot be made into a Debian version")
    return f"{text}-{revision}"


def control_text(info: DebInfo) -> str:
    """The ``DEBIAN/control`` file (pure)."""
    fields = {
        "Package": PACKAGE,
        "Version": info.version,
        "Architecture": info.architecture,
        "Maintainer": info.maintainer,
        "Installed-Size": str(info.installed_size_kib),
        "Depends": info.depends,
        "Section": "misc",
        "Priority": "optional",
        "Homepage": "https://branchsync.invalid/",
        "Description": DESCRIPTION,
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items() if value)


def installed_size_kib(root: Path) -> int:
    """Installed size as dpkg counts it: each file rounded up to a KiB, symlinks as one."""
    total = 0
    for path in root.rglob("*"):
        if path.is_relative_to(root / "DEBIAN"):
            continue
        size = path.lstat().st_size if path.is_file() and not path.is_symlink() else 1024
        total += -(-size // 1024)
    return total


def stage(app_dir: Path, icons_dir: Path, staging: Path, *, machine_config: Path | None = None) -> None:
    """Lay the package's files out under ``staging`` (everything but ``DEBIAN/``).

    Args:
        app_dir: the PyInstaller folder (holds ``branchsync`` and ``_internal``).
        icons_dir: holds ``branchsync-<size>.png`` for every size in ``ICON_SIZES``.
        machine_config: IT's file to ship as the conffile (default: the commented template).
    """
    opt = staging / INSTALL_DIR.relative_to("/")
    shutil.copytree(app_dir, opt, symlinks=True)
    _put(staging, Path("/usr/bin") / PACKAGE, symlink_to=INSTALL_DIR / PACKAGE)
    _put(staging, Path(f"/usr/share/applications/{PACKAGE}.desktop"), source=HERE / "branchsync.desktop")
    for size in ICON_SIZES:
        _put(
            staging,
            Path(f"/usr/share/icons/hicolor/{size}x{size}/apps/{PACKAGE}.png"),
            source=icons_dir / f"{PACKAGE}-{size}.png",
        )
    _put(staging, Path(f"/usr/share/doc/{PACKAGE}/copyright"), source=HERE / "copyright")
    _put(staging, CONFFILE, source=machine_config or MACHINE_CONFIG_TEMPLATE)
    _normalise_modes(staging)


def shlib_depends(app_dir: Path) -> str:
    """``Depends`` for the system libraries the frozen app's ELF files link against."""
    tool = require_tool("dpkg-shlibdeps", "dpkg-dev")
    elves = sorted(str(path) for path in app_dir.rglob("*") if path.is_file() and _is_elf(path))
    search = sorted({str(Path(elf).parent) for elf in elves})
    with tempfile.TemporaryDirectory(prefix="shlibdeps-") as work:
        (Path(work) / "debian").mkdir()
        (Path(work) / "debian" / "control").write_text(
            f"Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n"
        )
        libraries = [f"-l{folder}" for folder in search]
        out = run([tool, "-O", "--ignore-missing-info", *libraries, "-e", *elves], cwd=Path(work))
    for line in out.splitlines():
        if line.startswith("shlibs:Depends="):
            return line.removeprefix("shlibs:Depends=").strip()
    raise BuildError(f"dpkg-shlibdeps gave no Depends line: {out!r}")


def build_deb(
    app_dir: Path,
    icons_dir: Path,
    out_dir: Path,
    version: str,
    *,
    machine_config: Path | None = None,
    maintainer: str = DEFAULT_MAINTAINER,
    compression: str = "xz",
) -> Path:
    """Build ``branchsync_<version>_<arch>.deb`` in ``out_dir`` and return its path.

    Args:
        version: the Debian version (see ``debian_version``).
    """
    dpkg_deb = require_tool("dpkg-deb", "dpkg")
    architecture = run([require_tool("dpkg", "dpkg"), "--print-architecture"]).strip()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}_{version.split(':')[-1]}_{architecture}.deb"
    with tempfile.TemporaryDirectory(prefix="deb-", dir=out_dir) as work:
        staging = Path(work) / "root"
        stage(app_dir, icons_dir, staging, machine_config=machine_config)
        info = DebInfo(version, architecture, shlib_depends(app_dir), installed_size_kib(staging), maintainer)
        debian = staging / "DEBIAN"
        debian.mkdir(mode=0o755)
        (debian / "control").write_text(control_text(info))
        (debian / "conffiles").write_text(f"{CONFFILE}\n")
        (debian / "md5sums").write_text(md5sums(staging))
        for path in debian.iterdir():
            path.chmod(0o644)
        run([dpkg_deb, "--root-owner-group", f"-Z{compression}", "--build", staging, target])
    return target


def md5sums(staging: Path) -> str:
    """``DEBIAN/md5sums``: what ``debsums`` and ``dpkg --verify`` check installed files against."""
    conffiles = {str(CONFFILE.relative_to("/"))}
    lines = []
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging).as_posix()
        if (
            path.is_file()
            and not path.is_symlink()
            and not relative.startswith("DEBIAN/")
            and relative not in conffiles
        ):
            with path.open("rb") as file:
                lines.append(f"{hashlib.file_digest(file, 'md5').hexdigest()}  {relative}\n")
    return "".join(lines)


def _put(staging: Path, where: Path, *, source: Path | None = None, symlink_to: Path | None = None) -> None:
    destination = staging / where.relative_to("/")
    destination.parent.mkdir(parents=True, exist_ok=True)
    if symlink_to is not None:
        destination.symlink_to(symlink_to)
    elif source is not None:
        shutil.copyfile(source, destination)


def _normalise_modes(root: Path) -> None:
    """0755 for folders and programs, 0644 for the rest: what dpkg and lintian expect."""
    for dirpath, _, filenames in os.walk(root):
        Path(dirpath).chmod(0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            library = name.endswith(".so") or ".so." in name
            executable = bool(path.stat().st_mode & stat.S_IXUSR) and not library
            path.chmod(0o755 if executable else 0o644)


def _is_elf(path: Path) -> bool:
    if path.is_symlink():
        return False
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"
