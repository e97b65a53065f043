"""The link relay over real sockets: it relays, stalls, cuts and comes back."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from desktop.demo.link_proxy import LinkProxy, LinkState

QUIET = 0.3
"""How long silence must last to count as "nothing arrives" (a stalled link)."""


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def relay(echo_port: int) -> Iterator[LinkProxy]:
    with LinkProxy("127.0.0.1", echo_port) as proxy:
        yield proxy


def _connect(relay: LinkProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", relay.port), timeout=5)


def _exchange(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def test_relays_both_ways(relay: LinkProxy) -> None:
    with _connect(relay) as sock:
        assert _exchange(sock, b"hello") == b"hello"
        assert relay.open_connections == 1
    assert relay.url == f"http://127.0.0.1:{relay.port}"


def test_a_stalled_link_holds_bytes_until_restored(relay: LinkProxy) -> None:
    with _connect(relay) as sock:
        assert _exchange(sock, b"before") == b"before"
        relay.stall()
        assert relay.state is LinkState.STALLED
        sock.sendall(b"held")
        sock.settimeout(QUIET)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
        relay.restore()
        sock.settimeout(5)
        assert sock.recv(4096) == b"held"


def test_a_cut_link_resets_connections_and_refuses_new_ones_until_restored(relay: LinkProxy) -> None:
    with _connect(relay) as sock:
        assert _exchange(sock, b"up") == b"up"
        relay.cut()
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(4096) == b""
    with pytest.raises(ConnectionRefusedError):
        _connect(relay)
    relay.restore()
    with _connect(relay) as sock:
        assert _exchange(sock, b"back") == b"back"


def _sees_the_link_closed(relay: LinkProxy) -> bool:
    """True when the relay ends our connection: a reset (even during the handshake) or an EOF.

    The relay aborts with a reset as soon as the target refuses it; on loopback that reset can
    reach us before ``connect()`` returns, so the handshake itself may report it.
    """
    try:
        with _connect(relay) as sock:
            return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


def test_an_unreachable_target_closes_the_client() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead_port = spare.getsockname()[1]
    with LinkProxy("127.0.0.1", dead_port) as relay:
        assert _sees_the_link_closed(relay)
        assert _sees_the_link_closed(relay)


def test_a_one_way_stall_delivers_requests_but_holds_the_answers(relay: LinkProxy) -> None:
    with _connect(relay) as sock:
        assert _exchange(sock, b"first") == b"first"
        relay.stall("to_client")
        sock.sendall(b"asked")  # reaches the echo server, whose answer waits in the relay
        sock.settimeout(QUIET)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
        relay.restore()
        sock.settimeout(5)
        assert sock.recv(4096) == b"asked"


def test_a_cut_link_keeps_its_port_and_counts_what_it_accepted(relay: LinkProxy) -> None:
    with _connect(relay) as sock:
        assert _exchange(sock, b"up") == b"up"
    assert relay.accepted == 1
    relay.cut()
    with socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", relay.port))  # nobody else can take it meanwhile
    relay.restore()
    with _connect(relay) as sock:
        assert _exchange(sock, b"back") == b"back"
    assert relay.accepted == 2
