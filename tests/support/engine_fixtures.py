"""Fixtures of the engine's integration and fault tests: a proxy in front of the live server,
branch PCs enrolled through it, and no OS keyring (a developer's real keychain is never
touched; tokens go to the data dir's private file). Imported by the conftest of each
directory that uses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from desktop.demo.link_proxy import LinkProxy
from tests.support.desktop_engine import Installation, enrolled_installation
from tests.support.live_server import LiveServer

__all__ = ["no_os_keyring", "north", "proxy", "south"]


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep device tokens out of the machine's keyring, in this process and in subprocesses."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def proxy(sync_server: LiveServer) -> Iterator[LinkProxy]:
    """A TCP proxy in front of the live server; the engines connect through it."""
    port = int(sync_server.url.rsplit(":", 1)[1])
    with LinkProxy("127.0.0.1", port) as running:
        yield running


@pytest.fixture
def north(proxy: LinkProxy, database_url: str, tmp_path: Path) -> Iterator[Installation]:
    """A PC of branch North, enrolled through the proxy (engine not started)."""
    with enrolled_installation(proxy.url, database_url, tmp_path / "north", "North") as installation:
        yield installation


@pytest.fixture
def south(proxy: LinkProxy, database_url: str, tmp_path: Path) -> Iterator[Installation]:
    """A PC of branch South, enrolled through the proxy (engine not started)."""
    with enrolled_installation(proxy.url, database_url, tmp_path / "south", "South") as installation:
        yield installation
