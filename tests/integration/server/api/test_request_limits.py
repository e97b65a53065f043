"""Limits every request shares, on a real server: body size (announced or chunked) and
the protocol version header, for HTTP and WebSocket alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from protocol.version import MAX_PUSH_BYTES
from tests.support.devices import issue_code, protocol_headers
from tests.support.live_server import LiveServer


def _enrol_body(code: str, size: int) -> bytes:
    """An enrolment request padded with spaces to exactly ``size`` bytes (still valid JSON)."""
    body = json.dumps({"code": code, "device_name": "PC"}).encode()
    return body + b" " * (size - len(body))


async def _chunked(body: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


JSON = {"Content-Type": "application/json"}


async def test_a_body_over_1_mib_is_413_and_loses_nothing(http: httpx.AsyncClient, database_url: str) -> None:
    code = await issue_code(database_url)

    refused = await http.post(
        "/api/v1/enroll",
        content=_enrol_body(code, MAX_PUSH_BYTES + 1),
        headers={**protocol_headers(), **JSON},
    )

    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large"
    retry = await http.post("/api/v1/enroll", json={"code": code, "device_name": "PC"})
    assert retry.status_code == 200, "the refused request must not have used the code"


async def test_a_chunked_body_over_1_mib_is_413(http: httpx.AsyncClient, database_url: str) -> None:
    code = await issue_code(database_url)
    body = _enrol_body(code, 2 * MAX_PUSH_BYTES)

    refused = await http.post("/api/v1/enroll", content=_chunked(body), headers=JSON)

    assert "content-length" not in refused.request.headers  # really sent chunked
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "too_large"
    assert (await http.post("/api/v1/enroll", json={"code": code, "device_name": "PC"})).status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_of_exactly_1_mib_reaches_the_route(
    http: httpx.AsyncClient, database_url: str, chunked: bool
) -> None:
    code = await issue_code(database_url)
    body = _enrol_body(code, MAX_PUSH_BYTES)

    answer = await http.post("/api/v1/enroll", content=_chunked(body) if chunked else body, headers=JSON)

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("version", ["2", "0", "one", "1.1"])
async def test_another_protocol_version_is_426(http: httpx.AsyncClient, version: str) -> None:
    answer = await http.get("/healthz", headers={"Branchsync-Protocol": version})

    assert answer.status_code == 426
    assert answer.json()["error"]["code"] == "update_required"
    assert answer.headers["Branchsync-Protocol"] == "1"


@pytest.mark.parametrize("headers", [{"Branchsync-Protocol": "1"}, {}])
async def test_version_1_or_no_header_is_accepted(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    answer = await http.get("/healthz", headers=headers)

    assert answer.status_code == 200


async def test_a_socket_of_another_protocol_version_is_refused_426(sync_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(
            f"{sync_server.ws_url}/api/v1/sync/ws",
            additional_headers={"Branchsync-Protocol": "2"},
            open_timeout=10,
        ):
            pass

    response = refused.value.response
    assert response.status_code == 426
    assert json.loads(response.body or b"{}")["error"]["code"] == "update_required"
