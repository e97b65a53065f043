"""Each platform's build as an ordered list of steps: build, smoke-test, package, sign, verify.

A step either runs Python here (``action``) or external programs (``commands``), never
both. Keeping the steps as data lets ``build.py --dry-run --platform windows`` print
exactly what a Windows or macOS build host will run, and lets tests check the order
(sign what goes into the installer before packaging it, verify last) on Linux.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from installers import freeze, smoke
from installers.errors import VerificationFailed
from installers.linux import apt_repo, deb
from installers.linux.gpg import signer_from_environment, verify_detached
from installers.process import run

__all__ = ["PLATFORMS", "Options", "Results", "Step", "plan"]

PLATFORMS = ("linux", "windows", "macos")
INSTALLERS = freeze.ROOT / "installers"


@dataclass(frozen=True, slots=True)
class Options:
    """What to build, from ``build.py``'s command line."""

    platform: str
    out: Path
    version: str
    """The upstream version (``pyproject.toml``); the frozen app must report it."""
    revision: int = 1
    """Debian revision: bump it to re-release the same app version (a packaging fix)."""
    unsigned: bool = False
    repo: Path | None = None
    """The apt repository to add the .deb to (default ``<out>/apt``); kept between releases."""
    machine_config: Path | None = None
    deb_compression: str = "xz"
    gpg_key_file: Path | None = None
    gpg_key_id: str | None = None
    reuse_freeze: bool = False
    """Package the app already frozen in ``<out>/dist`` (a new revision of the same build)."""

    @property
    def icons(self) -> Path:
        return self.out / "icons"

    @property
    def packages(self) -> Path:
        return self.out / "packages"

    @property
    def apt_repo(self) -> Path:
        return self.repo or self.out / "apt"


@dataclass(slots=True)
class Results:
    """What the steps produced, for later steps and the build report."""

    seconds: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    figures: dict[str, float | int | str | None] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a build.

    Attributes:
        name: short id (``freeze``, ``sign-installer`` …).
        summary: what it does, for people.
        action: Python to run here.
        commands: the external command lines it runs (shown by ``--dry-run``).
    """

    name: str
    summary: str
    action: Callable[[Options, Results], None] | None = None
    commands: Callable[[Options], list[list[str]]] | None = None

    def execute(self, options: Options, results: Results) -> None:
        started = time.perf_counter()
        if self.action is not None:
            self.action(options, results)
        for argv in self.commands(options) if self.commands else []:
            run(argv, timeout=3600)
        results.seconds[self.name] = round(time.perf_counter() - started, 1)


def plan(options: Options) -> list[Step]:
    """The steps of a build of ``options.platform``, in order."""
    steps = _COMMON if not options.reuse_freeze else [step for step in _COMMON if step.name == "icons"]
    platform_steps = {"linux": _LINUX, "windows": _WINDOWS, "macos": _MACOS}[options.platform]
    return [
        step
        for step in [*steps, *platform_steps]
        if not (options.unsigned and step.name.startswith(("sign", "notarize", "verify")))
    ]


# ---- every platform -------------------------------------------------------------------


def _icons(options: Options, results: Results) -> None:
    from installers.icon import write_icons  # Qt is imported only when icons are drawn

    write_icons(options.icons)


def _freeze(options: Options, results: Results) -> None:
    freeze.freeze(options.out, options.icons, options.version)
    results.artifacts["app"] = str(freeze.app_dir(options.out, options.platform))


def _smoke(options: Options, results: Results) -> None:
    report = smoke.smoke_test(freeze.executable(options.out, options.platform), options.version)
    results.figures["window_ready_ms"] = round(report.window_ms)
    results.figures["app_size_bytes"] = _tree_size(freeze.app_dir(options.out, options.platform))


_COMMON = [
    Step("icons", "draw the app icon as PNG, ICO and ICNS", action=_icons),
    Step("freeze", "PyInstaller, one folder, from installers/branchsync.spec", action=_freeze),
    Step(
        "smoke",
        "run the frozen app: --version, status --json on an empty data dir, window start/quit",
        action=_smoke,
    ),
]


# ---- Linux: .deb and a signed apt repository -------------------------------------------


def _deb(options: Options, results: Results) -> None:
    version = deb.debian_version(options.version, options.revision)
    package = deb.build_deb(
        freeze.app_dir(options.out, "linux"),
        options.icons,
        options.packages,
        version,
        machine_config=options.machine_config,
        compression=options.deb_compression,
    )
    results.artifacts["deb"] = str(package)
    results.figures["package_size_bytes"] = package.stat().st_size
    fields = run(["dpkg-deb", "--field", package, "Installed-Size"]).strip()
    results.figures["installed_size_bytes"] = int(fields) * 1024


def _sign_linux(options: Options, results: Results) -> None:
    package = Path(results.artifacts["deb"])
    with signer_from_environment(key_file=options.gpg_key_file, key_id=options.gpg_key_id) as signer:
        signer.detach_sign(package, package.with_name(package.name + ".asc"))
        keyring = apt_repo.publish(options.apt_repo, [package], signer)
    shutil.copyfile(keyring, options.packages / keyring.name)
    results.artifacts.update(signature=f"{package}.asc", repo=str(options.apt_repo), keyring=str(keyring))


def _verify_linux(options: Options, results: Results) -> None:
    keyring = Path(results.artifacts["keyring"])
    package = Path(results.artifacts["deb"])
    verify_detached(keyring, Path(results.artifacts["signature"]), package)
    published = apt_repo.verify_repository(options.apt_repo, keyring)
    if not any(item.name == package.name for item in published):
        raise VerificationFailed(f"{package.name} is not in the verified repository")


_LINUX = [
    Step("package", ".deb: /opt/branchsync, /usr/bin/branchsync, menu entry, icons, conffile", action=_deb),
    Step(
        "sign",
        "detached .asc for the .deb; add it to the apt repository; sign Release (InRelease, Release.gpg)",
        action=_sign_linux,
    ),
    Step(
        "verify",
        "gpgv with the public key only: .asc, InRelease, Release.gpg; every hash down to the .deb",
        action=_verify_linux,
    ),
]


# ---- Windows: Inno Setup installer, signtool ------------------------------------------


def _powershell(script: str, *args: str) -> list[str]:
    return [
        "powershell",
        "-NoProfile",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        str(INSTALLERS / "windows" / script),
        *args,
    ]


def _windows_exes(options: Options) -> list[str]:
    folder = freeze.app_dir(options.out, "windows")
    return [str(folder / "branchsync.exe"), str(folder / "branchsyncw.exe")]


def _windows_setup(options: Options) -> str:
    return str(options.packages / f"branchsync-{options.version}-setup.exe")


def _inno_setup(options: Options) -> list[list[str]]:
    return [
        [
            "ISCC.exe",
            f"/DAppVersion={options.version}",
            f"/DSourceDir={freeze.app_dir(options.out, 'windows')}",
            f"/DIconFile={options.icons / 'branchsync.ico'}",
            f"/O{options.packages}",
            str(INSTALLERS / "windows" / "branchsync.iss"),
        ]
    ]


_WINDOWS = [
    Step(
        "sign-app",
        "signtool: sign the .exe files that go into the installer (SHA-256, RFC 3161 timestamp)",
        commands=lambda o: [_powershell("sign.ps1", *_windows_exes(o))],
    ),
    Step(
        "package",
        "Inno Setup: per-machine installer; /SERVER= /CODE= /CABUNDLE= /NAME= write the config",
        commands=_inno_setup,
    ),
    Step(
        "sign-installer",
        "signtool: sign the setup .exe",
        commands=lambda o: [_powershell("sign.ps1", _windows_setup(o))],
    ),
    Step(
        "verify",
        "signtool verify /pa /all: every signature chains to a trusted root and is timestamped",
        commands=lambda o: [_powershell("sign.ps1", "-VerifyOnly", *_windows_exes(o), _windows_setup(o))],
    ),
]


# ---- macOS: .app, codesign + notarytool, .pkg --------------------------------------------


def _macos(script: str, *args: str) -> list[list[str]]:
    return [["/bin/bash", str(INSTALLERS / "macos" / script), *args]]


def _macos_app(options: Options) -> str:
    return str(freeze.app_dir(options.out, "macos"))


def _macos_pkg(options: Options) -> str:
    return str(options.packages / f"Branchsync-{options.version}.pkg")


_MACOS = [
    Step(
        "sign-app",
        "codesign every Mach-O inside-out, hardened runtime, secure timestamp",
        commands=lambda o: _macos("sign_app.sh", _macos_app(o)),
    ),
    Step(
        "notarize-app",
        "notarytool submit --wait, then staple the ticket to the .app",
        commands=lambda o: _macos("notarize.sh", _macos_app(o)),
    ),
    Step(
        "package",
        "pkgbuild + productbuild: installs Branchsync.app in /Applications",
        commands=lambda o: _macos("build_pkg.sh", _macos_app(o), o.version, _macos_pkg(o)),
    ),
    Step(
        "sign-installer",
        "productsign with the Developer ID Installer certificate",
        commands=lambda o: _macos("sign_pkg.sh", _macos_pkg(o)),
    ),
    Step(
        "notarize-installer",
        "notarytool submit --wait, then staple the ticket to the .pkg",
        commands=lambda o: _macos("notarize.sh", _macos_pkg(o)),
    ),
    Step(
        "verify",
        "codesign --verify --strict, spctl --assess, pkgutil --check-signature, stapler validate",
        commands=lambda o: _macos("verify.sh", _macos_app(o), _macos_pkg(o)),
    ),
]


def _tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())
