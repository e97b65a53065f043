"""The default TLS context: one per process, built once however many engine threads ask."""

from __future__ import annotations

import ssl
from concurrent.futures import ThreadPoolExecutor

from desktop.config import default_client_context


def test_every_thread_gets_the_same_verifying_context() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        contexts = list(pool.map(lambda _: default_client_context(), range(32)))
    assert len({id(context) for context in contexts}) == 1
    context = contexts[0]
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0, "certifi's CAs are loaded"
