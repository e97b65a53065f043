"""A real uvicorn server on a loopback port, in this process's background thread.

Used by integration tests that drive the server exactly as a client would (httpx,
websockets). Tests that must kill or restart the server use ``ServerProcess``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from server.api.http_server import uvicorn_options
from server.app import create_app
from server.settings import Settings

__all__ = ["LiveServer", "free_port", "live_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveServer:
    url: str
    ws_url: str
    settings: Settings


@contextmanager
def live_server(
    settings: Settings,
    startup_timeout: float = 30.0,
    *,
    app: FastAPI | None = None,
    port: int | None = None,
    tls: tuple[str, str] | None = None,
) -> Iterator[LiveServer]:
    """Run ``create_app(settings)`` (or ``app``, built from it) under uvicorn on a free loopback port
    (or on ``port``: a server restarted where its clients expect it); over TLS with ``tls``
    (certificate chain file, key file), then the URLs are ``https``/``wss``."""
    port = port or free_port()
    certfile, keyfile = tls or (None, None)
    config = uvicorn.Config(
        app or create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("server failed to start")
        if time.monotonic() > deadline:
            raise TimeoutError("server did not start in time")
        time.sleep(0.01)  # sleep-ok: polling a condition with a deadline
    try:
        secure = "s" if tls else ""
        yield LiveServer(f"http{secure}://127.0.0.1:{port}", f"ws{secure}://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
