"""The build's pure parts and small helpers, without a build."""

from __future__ import annotations

import re
from pathlib import Path, PurePath

import pytest
from PySide6.QtGui import QImage

from desktop.config.loader import read_toml
from desktop.config.settings import Setting, parse_machine
from desktop.ui.startup_probe import READY_MARKER
from installers import smoke
from installers.errors import SigningKeyMissing, SmokeTestFailed, StepFailed, ToolMissing, VerificationFailed
from installers.icon import PNG_SIZES, write_icons
from installers.linux.apt_repo import parse_stanzas
from installers.linux.deb import (
    MACHINE_CONFIG_TEMPLATE,
    DebInfo,
    control_text,
    debian_version,
    installed_size_kib,
)
from installers.linux.gpg import _primary_fingerprints, signer_from_environment, verify_detached
from installers.process import require_tool, run
from installers.qt_plugins import keep_binary, keep_plugin, plugin_name
from tests.installers.conftest import GpgKey


@pytest.mark.parametrize(
    ("upstream", "revision", "debian"),
    [
        ("0.1.0", 1, "0.1.0-1"),
        ("1.2.0rc1", 2, "1.2.0~rc1-2"),
        ("2.0.0.dev3", 1, "2.0.0~dev3-1"),
        ("1.0b2", 1, "1.0~b2-1"),
    ],
)
def test_debian_versions_sort_pre_releases_first(upstream: str, revision: int, debian: str) -> None:
    assert debian_version(upstream, revision) == debian


def test_a_version_debian_cannot_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="revision starts at 1"):
        debian_version("1.0", 0)
    with pytest.raises(Exception, match="cannot be made into a Debian version"):
        debian_version("v1 final")


def test_control_text_round_trips_through_the_stanza_parser() -> None:
    text = control_text(DebInfo("0.1.0-1", "amd64", "libc6 (>= 2.36), libxcb1", 1234))
    (stanza,) = parse_stanzas(text)
    assert stanza["Package"] == "branchsync" and stanza["Installed-Size"] == "1234"
    assert stanza["Depends"] == "libc6 (>= 2.36), libxcb1"
    assert stanza["Description"].startswith("Offline-first client and appointment records for every branch\n")
    assert text.endswith("\n") and "\n\n" not in text


def test_installed_size_counts_files_in_whole_kib_and_skips_debian(tmp_path: Path) -> None:
    (tmp_path / "DEBIAN").mkdir()
    (tmp_path / "DEBIAN" / "control").write_bytes(b"x" * 5000)
    (tmp_path / "opt").mkdir()
    (tmp_path / "opt" / "a").write_bytes(b"x" * 1025)
    (tmp_path / "opt" / "b").write_bytes(b"")
    (tmp_path / "opt" / "link").symlink_to("a")
    assert installed_size_kib(tmp_path) == 1 + 2 + 0 + 1  # opt/, a, b, the link


def test_fingerprints_are_read_from_primary_keys_only() -> None:
    listing = "sec:u:255:22:AAAA:::::::\nfpr:::::::::1111:\nssb:u:255:18:BBBB::::\nfpr:::::::::2222:\n"
    assert _primary_fingerprints(listing) == ["1111"]


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("plugins/platforms/libqxcb.so", True),
        ("plugins/platforms/qwindows.dll", True),
        ("plugins/platforms/libqcocoa.dylib", True),
        ("plugins/platforms/libqeglfs.so", False),
        ("plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("plugins/platformthemes/libqgtk3.so", False),
        ("plugins/imageformats/libqpdf.so", False),
        ("plugins/imageformats/libqjpeg.so", True),
        ("plugins/generic/libqevdevtouchplugin.so", False),
    ],
)
def test_qt_plugins_kept_are_the_ones_a_desktop_window_loads(path: str, kept: bool) -> None:
    assert keep_plugin(PurePath(path)) is kept
    assert keep_binary(f"PySide6/Qt/{path}") is kept


def test_qt_libraries_no_kept_plugin_needs_are_dropped() -> None:
    assert plugin_name(PurePath("libqxcb.so")) == "qxcb" and plugin_name(PurePath("qico.dll")) == "qico"
    assert not keep_binary("PySide6/Qt/lib/libQt6Qml.so.6") and not keep_binary("PySide6/Qt6Network.dll")
    assert keep_binary("PySide6/Qt/lib/libQt6Widgets.so.6") and keep_binary("libpython3.11.so.1.0")


def test_icons_in_every_format(tmp_path: Path) -> None:
    written = write_icons(tmp_path)
    for size in PNG_SIZES:
        image = QImage(str(written[f"png{size}"]))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 10).blue() > 150  # the blue tile, not transparent
    assert not QImage(str(written["ico"])).isNull() and not QImage(str(written["icns"])).isNull()


def test_the_shipped_config_template_sets_nothing_and_every_example_is_valid(tmp_path: Path) -> None:
    document = read_toml(MACHINE_CONFIG_TEMPLATE)
    assert document == {}
    uncommented = tmp_path / "config.toml"
    examples = [
        line.removeprefix("# ")
        for line in MACHINE_CONFIG_TEMPLATE.read_text().splitlines()
        if line.startswith("# ") and " = " in line and "`" not in line
    ]
    uncommented.write_text("\n".join(examples))
    example = read_toml(uncommented)
    assert example is not None
    layer = parse_machine(example, uncommented)
    assert set(example) == {*Setting, "pinned"} and layer.pinned == {Setting.SERVER_URL, Setting.CA_BUNDLE}


def test_missing_tools_and_failing_commands_say_what_to_do() -> None:
    with pytest.raises(ToolMissing, match=r"not-a-tool is not installed \(it comes with some-package\)"):
        require_tool("not-a-tool", "some-package")
    with pytest.raises(StepFailed, match="exited with 3") as caught:
        run(["sh", "-c", "echo partial output; exit 3"])
    assert caught.value.returncode == 3 and "partial output" in caught.value.output


def test_no_signing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyMissing, match="BRANCHSYNC_GPG_KEY_FILE"), signer_from_environment({}):
        pass
    with (
        pytest.raises(SigningKeyMissing, match="is not a file"),
        signer_from_environment({"BRANCHSYNC_GPG_KEY_FILE": str(tmp_path / "missing.asc")}),
    ):
        pass


def test_sign_and_verify_round_trip(gpg_key: GpgKey, tmp_path: Path) -> None:
    data, signature = tmp_path / "data", tmp_path / "data.asc"
    data.write_text("release notes\n")
    with signer_from_environment({"BRANCHSYNC_GPG_KEY_FILE": str(gpg_key.secret_file)}) as signer:
        assert signer.fingerprint == gpg_key.fingerprint
        signer.detach_sign(data, signature)
        home = signer.gnupghome
    assert not home.exists()  # the throwaway keyring is gone
    verify_detached(gpg_key.public_keyring, signature, data)
    data.write_text("release notes, edited\n")
    with pytest.raises(VerificationFailed):
        verify_detached(gpg_key.public_keyring, signature, data)


def fake_app(folder: Path, script: str) -> Path:
    """A stand-in for a broken frozen app: a real executable that misbehaves on purpose."""
    app = folder / "branchsync"
    app.write_text(f"#!/bin/sh\n{script}\n")
    app.chmod(0o755)
    return app


@pytest.mark.parametrize(
    ("script", "complaint"),
    [
        ('echo "branchsync 9.9.9"', "printed 'branchsync 9.9.9', expected 'branchsync 1.2.3'"),
        ('case "$3" in status) echo "not json";; *) echo "branchsync 1.2.3";; esac', "did not print JSON"),
        ('case "$3" in status) echo \'{"device_id": null}\';; *) echo "branchsync 1.2.3";; esac', "keys are"),
        ('case "$#" in 1) echo "branchsync 1.2.3";; 4) exit 5;; esac', "exited with 5"),
    ],
)
def test_the_smoke_test_catches_a_broken_build(tmp_path: Path, script: str, complaint: str) -> None:
    with pytest.raises(SmokeTestFailed, match=re.escape(complaint)):
        smoke.smoke_test(fake_app(tmp_path, script), "1.2.3")


def test_a_window_that_never_shows_or_does_not_quit_cleanly_fails(tmp_path: Path) -> None:
    env = smoke.isolated_env(tmp_path)
    with pytest.raises(SmokeTestFailed, match="never reported it was shown"):
        smoke.check_window(fake_app(tmp_path, "echo starting; exit 0"), tmp_path / "data", env)
    with pytest.raises(SmokeTestFailed, match=r"did not quit cleanly \(exit 3\)"):
        smoke.check_window(fake_app(tmp_path, f'echo "{READY_MARKER}: MainWindow"; exit 3'), tmp_path, env)
    assert smoke.check_window(fake_app(tmp_path, f'echo "{READY_MARKER}: MainWindow"'), tmp_path, env) > 0
