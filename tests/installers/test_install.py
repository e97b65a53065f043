"""The .deb installed into this very system with dpkg, used, upgraded through apt, removed.

We are root here (and in CI). The package is purged at the end whatever happens. The
installed app runs exactly as on a branch PC: from /usr/bin, reading IT's real
/etc/branchsync/config.toml (no test override), against a real server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from installers import smoke
from tests.installers.conftest import GpgKey, LinuxBuild, point_apt_at, run_build
from tests.support import tls
from tests.support.devices import issue_code
from tests.support.live_server import LiveServer
from tests.support.server_rows import server_rows

pytestmark = pytest.mark.timeout(900)  # the first test waits for the session's build

COMMAND = Path("/usr/bin/branchsync")
CONFFILE = Path("/etc/branchsync/config.toml")


Done = subprocess.CompletedProcess[str]


def sh(*argv: str | Path, check: bool = True, env: dict[str, str] | None = None) -> Done:
    command = [str(arg) for arg in argv]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def package_state() -> str:
    """dpkg's status and version of branchsync ('' when dpkg does not know it)."""
    return sh("dpkg-query", "--show", "--showformat=${Status} ${Version}", "branchsync", check=False).stdout


@pytest.fixture(scope="module")
def installed(linux_build: LinuxBuild) -> Iterator[Path]:
    """The package installed with ``dpkg -i`` (its dependencies first); purged afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the install tests need root (dpkg -i into this system)")
    if package_state().startswith("install ok installed"):
        pytest.fail("branchsync is already installed on this machine; these tests would replace it")
    depends = sh("dpkg-deb", "--field", linux_build.deb, "Depends").stdout.strip()
    sh("apt-get", "satisfy", "--yes", "--no-install-recommends", depends)  # a no-op where they are present
    try:
        sh("dpkg", "--install", linux_build.deb)
        yield linux_build.deb
    finally:
        sh("dpkg", "--purge", "branchsync", check=False)


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A branch PC user's environment: fresh home, no test overrides of IT's config."""
    env = smoke.isolated_env(tmp_path)
    del env["BRANCHSYNC_MACHINE_CONFIG"]
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # a PC's PATH, not this test run's virtualenv
    return env


def branchsync(env: dict[str, str], data_dir: Path, *args: str | Path, check: bool = True) -> Done:
    return sh("branchsync", "--data-dir", data_dir, *args, env=env, check=check)


def test_dpkg_installs_a_working_command(installed: Path, user_env: dict[str, str]) -> None:
    assert package_state() == "install ok installed 0.1.0-1"
    assert COMMAND.resolve() == Path("/opt/branchsync/branchsync")
    assert shutil.which("branchsync", path=user_env["PATH"]) == str(COMMAND)
    assert sh("dpkg", "--verify", "branchsync").stdout == ""  # every file matches md5sums
    conffiles = sh("dpkg-query", "--show", "--showformat=${Conffiles}", "branchsync").stdout
    assert str(CONFFILE) in conffiles
    # an ordinary user, not root, runs it: the files are readable and executable by all
    with tempfile.TemporaryDirectory() as shared:  # pytest's tmp_path is private to root
        data = Path(shared) / "nobody-data"
        data.mkdir()
        Path(shared).chmod(0o755)
        shutil.chown(data, "nobody", "nogroup")
        as_nobody = sh(
            "runuser",
            "-u",
            "nobody",
            "--",
            "env",
            f"HOME={data}",
            COMMAND,
            "--data-dir",
            data,
            "status",
            "--json",
        )
    assert json.loads(as_nobody.stdout)["device_id"] is None
    assert sh("branchsync", "--version", env=user_env).stdout.strip() == "branchsync 0.1.0"
    demo = sh("branchsync", "demo", env=user_env, check=False)  # it needs the server: source installs only
    assert demo.returncode == 2 and "needs a source install" in demo.stderr


def test_the_installed_app_enrols_imports_and_syncs(
    installed: Path, sync_server: LiveServer, database_url: str, user_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "pc"
    code = asyncio.run(issue_code(database_url))
    enrolled = branchsync(user_env, data, "enroll", "--server", sync_server.url, "--code", code)
    assert "branch North" in enrolled.stdout
    csv = tmp_path / "clients.csv"
    csv.write_text("name,phone\nAda Lovelace,+44 20 7946 0000\nGrace Hopper,+1 212 555 0100\n")
    assert "2 created" in branchsync(user_env, data, "import", "clients", csv).stdout
    branchsync(user_env, data, "sync", "--once", "--timeout", "30")
    names = sorted(row["name"] for row in server_rows(database_url).values())
    assert names == ["Ada Lovelace", "Grace Hopper"]
    window_ms = smoke.check_window(COMMAND, data, user_env)  # the main window, offscreen, then quit
    assert 0 < window_ms < 30_000


@pytest.fixture
def company_tls_server(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, trustme.CA]]:
    ca = tls.company_ca()
    with tls.tls_server(database_url, ca, tmp_path) as running:
        yield running, ca


def test_the_installed_app_trusts_the_ca_it_configured_in_etc(
    installed: Path,
    company_tls_server: tuple[LiveServer, trustme.CA],
    database_url: str,
    user_env: dict[str, str],
    tmp_path: Path,
) -> None:
    server, ca = company_tls_server
    code = asyncio.run(issue_code(database_url))
    enroll = ("enroll", "--server", server.url, "--code", code)
    refused = branchsync(user_env, tmp_path / "pc", *enroll, check=False)
    assert refused.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
    template = CONFFILE.read_bytes()
    ca.cert_pem.write_to_path("/etc/branchsync/company-ca.pem")
    try:
        CONFFILE.write_text(f'server_url = "{server.url}"\nca_bundle = "company-ca.pem"\n')
        branchsync(user_env, tmp_path / "pc", *enroll)
    finally:
        CONFFILE.write_bytes(template)
        Path("/etc/branchsync/company-ca.pem").unlink()


def test_upgrade_through_apt_keeps_it_settings_then_remove_and_purge(
    installed: Path, linux_build: LinuxBuild, gpg_key: GpgKey, apt_sandbox: list[str], tmp_path: Path
) -> None:
    # a packaging fix: revision 2 of the same frozen app, published into (a copy of) the repository
    out, repo = tmp_path / "build", tmp_path / "repo"
    shutil.copytree(linux_build.out / "dist", out / "dist", symlinks=True, copy_function=os.link)
    shutil.copytree(linux_build.repo, repo, copy_function=os.link)  # publishing never writes in place
    rebuilt = run_build(out, gpg_key, "--reuse-freeze", "--revision", "2", "--repo", str(repo))
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr

    it_settings = '# set by IT\nserver_url = "https://sync.example.com"\n'
    CONFFILE.write_text(it_settings)
    point_apt_at(tmp_path / "sources.list", repo, repo / "branchsync-archive-keyring.gpg")
    apt = ["apt-get", *apt_sandbox]
    sh(*apt, "update")
    sh(*apt, "install", "--only-upgrade", "--yes", "-o", "Dpkg::Options::=--force-confold", "branchsync")
    assert package_state() == "install ok installed 0.1.0-2"
    assert CONFFILE.read_text() == it_settings  # IT's edit survives the upgrade
    assert sh(COMMAND, "--version").stdout.strip() == "branchsync 0.1.0"

    sh("dpkg", "--remove", "branchsync")
    assert not COMMAND.exists() and not Path("/opt/branchsync").exists()
    assert package_state().startswith("deinstall ok config-files")
    assert CONFFILE.read_text() == it_settings  # remove keeps IT's config ...
    sh("dpkg", "--purge", "branchsync")
    assert not CONFFILE.exists()  # ... purge does not
    assert package_state() == ""
