"""Each platform's build steps, and the Windows and macOS files that only run on those hosts.

Windows and macOS builds cannot run here; what can be checked here is: the steps and
their order, the commands ``--dry-run`` prints, that every script and definition they
use exists and parses, and that what the installers write is a config the app reads.
"""

from __future__ import annotations

import ast
import plistlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from desktop.config.loader import read_toml
from desktop.config.settings import Setting, parse_machine
from installers import build
from installers.freeze import ROOT
from installers.plans import Options, plan

INSTALLERS = ROOT / "installers"


def options(platform: str, **extra: object) -> Options:
    return Options(platform=platform, out=Path("/build"), version="1.2.3", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("platform", "names"),
    [
        ("linux", ["icons", "freeze", "smoke", "package", "sign", "verify"]),
        ("windows", ["icons", "freeze", "smoke", "sign-app", "package", "sign-installer", "verify"]),
        (
            "macos",
            [
                "icons",
                "freeze",
                "smoke",
                "sign-app",
                "notarize-app",
                "package",
                "sign-installer",
                "notarize-installer",
                "verify",
            ],
        ),
    ],
)
def test_build_smoke_test_package_sign_verify_in_that_order(platform: str, names: list[str]) -> None:
    assert [step.name for step in plan(options(platform))] == names
    unsigned = [step.name for step in plan(options(platform, unsigned=True))]
    assert unsigned == [name for name in names if not name.startswith(("sign", "notarize", "verify"))]
    assert "freeze" not in [step.name for step in plan(options(platform, reuse_freeze=True))]


def test_every_external_step_runs_a_script_of_ours_that_exists() -> None:
    for platform in ("windows", "macos"):
        for step in plan(options(platform)):
            for command in step.commands(options(platform)) if step.commands else []:
                scripts = [Path(arg) for arg in command if arg.endswith((".ps1", ".sh", ".iss"))]
                assert scripts, command
                assert all(script.is_file() and script.is_relative_to(INSTALLERS) for script in scripts)


def test_windows_signs_the_exes_then_packages_them_then_signs_the_setup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert build.main(["--dry-run", "--platform", "windows"]) == 0
    out = capsys.readouterr().out
    sign_app, package, sign_setup, verify = (
        out.index(f". {name}:") for name in ("sign-app", "package", "sign-installer", "verify")
    )
    assert sign_app < package < sign_setup < verify
    assert re.search(r"sign\.ps1 \S+branchsync\.exe \S+branchsyncw\.exe", out)
    assert "ISCC.exe /DAppVersion=0.1.0 /DSourceDir=" in out
    assert re.search(r"sign\.ps1 -VerifyOnly .*branchsync-0\.1\.0-setup\.exe", out)


def test_another_platform_is_built_on_its_own_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert build.main(["--platform", "macos", "--out", "/nonexistent"]) == 2
    assert "runs on a macos host" in capsys.readouterr().err


def test_the_spec_is_python_and_keeps_only_the_qt_we_use() -> None:
    tree = ast.parse((INSTALLERS / "branchsync.spec").read_text())
    (excluded,) = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(target, "id", "") == "EXCLUDED_MODULES" for target in node.targets)
    ]
    text = ast.unparse(excluded)
    for unused in ("QtNetwork", "QtQml", "QtQuick", "QtWebEngineCore", "QtSql", "QtPdf", "QtMultimedia"):
        assert f"'{unused}'" in text
    for used in ("QtCore", "QtGui", "QtWidgets"):
        assert f"'{used}'" not in text
    assert "'server'" in text  # the desktop app is a client


# ---- Windows ------------------------------------------------------------------------


ISS = (INSTALLERS / "windows" / "branchsync.iss").read_text()


def iss_sections() -> dict[str, str]:
    parts = re.split(r"^\[(\w+)\]\s*$", ISS, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_inno_setup_script_has_what_a_per_machine_install_needs() -> None:
    sections = iss_sections()
    assert {"Setup", "Files", "Dirs", "Icons", "Run", "Code", "Tasks"} <= set(sections)
    setup = dict(line.split("=", 1) for line in sections["Setup"].splitlines() if "=" in line)
    assert setup["PrivilegesRequired"] == "admin"
    assert setup["DefaultDirName"] == r"{autopf}\Branchsync"
    assert setup["OutputBaseFilename"] == "branchsync-{#AppVersion}-setup"
    for define in ("AppVersion", "SourceDir"):  # what plans.py passes with /D
        assert f"#ifndef {define}" in ISS
    assert r"{commonappdata}\branchsync" in sections["Dirs"]
    assert "branchsyncw.exe" in sections["Icons"] and "branchsyncw.exe" in sections["Run"]
    assert "*S-1-5-32-545:(OI)(CI)RX" in sections["Run"]  # users: read and execute only


def test_every_silent_install_parameter_is_documented_and_read() -> None:
    header = ISS.split("#ifndef")[0]
    documented = set(re.findall(r"/([A-Z]+)=", header)) - {"LOG"}
    read = set(re.findall(r"Param\('([A-Z]+)'\)", iss_sections()["Code"]))
    assert documented == read == {"SERVER", "CODE", "CABUNDLE", "NAME", "PIN"}
    readme = (INSTALLERS / "README.md").read_text()
    assert all(f"/{name}=" in readme for name in read)


def test_the_config_the_windows_installer_writes_is_one_the_app_reads(tmp_path: Path) -> None:
    """Replay [Code]'s AddLine templates with sample parameters; the result must load."""
    params = {
        "SERVER": "https://sync.example.com",
        "CODE": "K7M2-Q9XP",
        "CABUNDLE": r"\\fs\it\ca.pem",
        "NAME": 'Front desk "A"',
        "PIN": "server_url, ca_bundle",
    }

    def toml_string(value: str) -> str:  # TomlString in [Code]
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = []
    for literal, call, name in re.findall(
        r"AddLine\(Lines, '([^']*)'(?: \+ (\w+)\(Param\('(\w+)'\)\))?\)", iss_sections()["Code"]
    ):
        if call == "TomlString":
            lines.append(literal + toml_string(params[name]))
        elif call == "TomlList":
            items = ", ".join(toml_string(item.strip()) for item in params[name].split(","))
            lines.append(f"{literal}[{items}]")
        else:
            lines.append(literal)
    written = tmp_path / "config.toml"
    written.write_bytes("\n".join(lines).encode("utf-8-sig"))  # SaveStringsToUTF8File writes a BOM
    document = read_toml(written)
    assert document is not None
    layer = parse_machine(document, written)
    assert layer.values[Setting.DISPLAY_NAME] == 'Front desk "A"'
    assert layer.values[Setting.CA_BUNDLE] == tmp_path / "ca.pem"  # copied next to the config
    assert layer.pinned == {Setting.SERVER_URL, Setting.CA_BUNDLE}
    assert set(layer.values) == set(Setting)


def test_the_signing_script_timestamps_and_verifies() -> None:
    script = (INSTALLERS / "windows" / "sign.ps1").read_text()
    assert "sign /fd sha256 /tr $timestamp /td sha256" in script
    assert "verify /pa /all" in script and "TimeStamperCertificate" in script
    for variable in (
        "BRANCHSYNC_SIGN_CERT_SHA1",
        "BRANCHSYNC_SIGN_PFX",
        "BRANCHSYNC_SIGN_PFX_PASSWORD",
        "BRANCHSYNC_TIMESTAMP_URL",
    ):
        assert variable in script and variable in (INSTALLERS / "README.md").read_text()


# ---- macOS ----------------------------------------------------------------------------


MACOS = INSTALLERS / "macos"


def test_the_property_lists_parse() -> None:
    info = plistlib.loads((MACOS / "Info.plist").read_bytes())
    assert info["LSMinimumSystemVersion"] == "12.0" and info["NSHighResolutionCapable"] is True
    entitlements = plistlib.loads((MACOS / "entitlements.plist").read_bytes())
    assert entitlements == {"com.apple.security.cs.allow-unsigned-executable-memory": True}
    (component,) = plistlib.loads((MACOS / "component.plist").read_bytes())
    assert component["RootRelativeBundlePath"] == "Branchsync.app"
    assert component["BundleIsRelocatable"] is False


def test_the_distribution_parses_once_filled_in() -> None:
    text = (MACOS / "distribution.xml").read_text()
    filled = text.replace("@VERSION@", "1.2.3").replace("@HOST_ARCHITECTURES@", "arm64")
    root = ElementTree.fromstring(filled)
    assert root.find("options").get("hostArchitectures") == "arm64"  # type: ignore[union-attr]
    assert root.find("pkg-ref[@version='1.2.3']").text == "Branchsync-component.pkg"  # type: ignore[union-attr]
    assert set(re.findall(r"@(\w+)@", text)) == {"VERSION", "HOST_ARCHITECTURES"}
    build_pkg = (MACOS / "build_pkg.sh").read_text()
    assert "@VERSION@" in build_pkg and "@HOST_ARCHITECTURES@" in build_pkg


@pytest.mark.parametrize(
    "script", [*sorted(MACOS.glob("*.sh")), MACOS / "pkg-scripts" / "postinstall"], ids=lambda path: path.name
)
def test_the_shell_scripts_are_clean(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    linted = subprocess.run(
        [shutil.which("shellcheck") or "shellcheck", "-x", str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout


def test_macos_signing_uses_hardened_runtime_timestamps_and_notarization() -> None:
    sign = (MACOS / "sign_app.sh").read_text()
    assert "--options runtime" in sign and "--timestamp" in sign and "entitlements.plist" in sign
    notarize = (MACOS / "notarize.sh").read_text()
    assert "notarytool submit" in notarize and "--wait" in notarize and "stapler staple" in notarize
    assert "productsign --timestamp" in (MACOS / "sign_pkg.sh").read_text()
    verify = (MACOS / "verify.sh").read_text()
    for check in ("spctl --assess", "pkgutil --check-signature", "stapler validate"):
        assert check in verify


def test_the_macos_postinstall_ships_the_template_where_the_app_looks() -> None:
    from platformdirs.macos import MacOS

    folder = MacOS("branchsync", appauthor=False).site_config_dir
    assert f'config_dir="{folder}"' in (MACOS / "pkg-scripts" / "postinstall").read_text()
