"""TLS with a company's private CA: the app trusts its server only through the bundle IT ships.

A real uvicorn serves HTTPS and WSS with a certificate from a throwaway CA (trustme);
the desktop's real HTTP client, socket and CLI connect to it with the TLS context the
machine-wide config gives them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from desktop.cache import Cache
from desktop.cli import main
from desktop.config import client_ssl_context, code_was_used, load_config
from desktop.sync.enrollment import endpoint_for
from desktop.sync.runner import Runner
from desktop.sync.status import EngineState, StatusSnapshot
from desktop.sync.thread import SyncThread
from tests.support import tls
from tests.support.desktop_engine import FAST, wait_until
from tests.support.devices import issue_code
from tests.support.live_server import LiveServer
from tests.support.server_rows import server_rows


@pytest.fixture
def company_ca() -> trustme.CA:
    return tls.company_ca()


@pytest.fixture
def tls_server(database_url: str, company_ca: trustme.CA, tmp_path: Path) -> Iterator[LiveServer]:
    """The real server over HTTPS/WSS with a certificate the company CA signed."""
    with tls.tls_server(database_url, company_ca, tmp_path) as running:
        yield running


@pytest.fixture
def it_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty machine-wide config folder (and no user config) that the app reads."""
    folder = tmp_path / "etc-branchsync"
    folder.mkdir()
    monkeypatch.setenv("BRANCHSYNC_MACHINE_CONFIG", str(folder / "config.toml"))
    monkeypatch.setenv("BRANCHSYNC_USER_CONFIG", str(tmp_path / "user-config.toml"))
    return folder


def ship(folder: Path, ca: trustme.CA, text: str = 'ca_bundle = "company-ca.pem"\n') -> None:
    """What IT's installer writes: the CA's certificate and a config naming it."""
    ca.cert_pem.write_to_path(str(folder / "company-ca.pem"))
    (folder / "config.toml").write_text(text)


def enroll(data_dir: Path, server: LiveServer, code: str) -> int:
    return main(["--data-dir", str(data_dir), "enroll", "--server", server.url, "--code", code])


def test_with_the_shipped_bundle_enrolment_push_pull_and_socket_work(
    tls_server: LiveServer, database_url: str, company_ca: trustme.CA, it_folder: Path, tmp_path: Path
) -> None:
    ship(it_folder, company_ca)
    data_dir = tmp_path / "pc"
    assert tls_server.url.startswith("https://")
    assert enroll(data_dir, tls_server, asyncio.run(issue_code(database_url))) == 0
    with Cache(data_dir) as cache:
        row_id = cache.create("clients", {"name": "Ada over TLS"})
    assert main(["--data-dir", str(data_dir), "sync", "--once", "--timeout", "30"]) == 0
    assert set(server_rows(database_url)) == {row_id}

    statuses: list[StatusSnapshot] = []
    config = load_config(data_dir)
    with Cache(data_dir) as cache:
        endpoint = endpoint_for(cache, client_ssl_context(config.ca_bundle))
        engine = SyncThread(Runner(cache, endpoint, config=FAST, on_status=statuses.append))
        engine.start()
        try:  # ONLINE needs the socket's hello: the WSS handshake trusted the same bundle
            wait_until(lambda: bool(statuses) and statuses[-1].state is EngineState.ONLINE, what="wss")
        finally:
            assert engine.stop()
        assert engine.error is None


@pytest.mark.parametrize("shipped", ["nothing", "another CA"])
def test_without_the_company_bundle_the_server_is_not_trusted(
    tls_server: LiveServer,
    database_url: str,
    company_ca: trustme.CA,
    it_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shipped: str,
) -> None:
    if shipped == "another CA":
        ship(it_folder, trustme.CA())
    code = asyncio.run(issue_code(database_url))
    data_dir = tmp_path / "pc"
    assert enroll(data_dir, tls_server, code) == 3
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
    assert not code_was_used(data_dir, code)  # the server never saw it: IT's code is not burnt
    ship(it_folder, company_ca)
    assert enroll(data_dir, tls_server, code) == 0


def test_a_user_cannot_swap_the_bundle_it_pinned(
    tls_server: LiveServer, database_url: str, company_ca: trustme.CA, it_folder: Path, tmp_path: Path
) -> None:
    ship(it_folder, company_ca)
    mitm = tmp_path / "mitm-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(mitm))
    (tmp_path / "user-config.toml").write_text(f'ca_bundle = "{mitm}"\n')
    assert load_config(tmp_path / "pc").ignored == {"ca_bundle"}
    assert enroll(tmp_path / "pc", tls_server, asyncio.run(issue_code(database_url))) == 0
