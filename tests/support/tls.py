"""The real server over HTTPS/WSS with a certificate from a throwaway private CA (trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import trustme

from server.settings import Settings
from tests.support.live_server import LiveServer, live_server

__all__ = ["company_ca", "tls_server"]


def company_ca() -> trustme.CA:
    """A company's own CA, as IT runs one."""
    return trustme.CA(organization_name="Example Ltd internal CA")


@contextmanager
def tls_server(database_url: str, ca: trustme.CA, folder: Path) -> Iterator[LiveServer]:
    """``live_server`` on a fresh database URL, with a certificate for 127.0.0.1 that ``ca`` signed."""
    issued = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = folder / "server-chain.pem", folder / "server-key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    with live_server(Settings(database_url=database_url), tls=(str(chain), str(key))) as running:
        yield running
