"""Request ids on every answer; device tokens and enrolment codes never in a log record."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from server.observability.logs import JsonFormatter
from tests.support.devices import issue_code, protocol_headers
from tests.support.live_server import LiveServer


async def test_request_ids_are_echoed_or_made(ops_http: httpx.AsyncClient) -> None:
    given = await ops_http.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    made = await ops_http.get("/healthz")
    hostile = await ops_http.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert given.headers["x-request-id"] == "lb-1234.abc"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    missing = await ops_http.get("/no/such/page")
    assert missing.status_code == 404 and "x-request-id" in missing.headers


async def test_secrets_never_reach_the_logs(
    ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="uvicorn.access")
    caplog.set_level(logging.DEBUG, logger="uvicorn.error")
    code = await issue_code(database_url, "North")
    enrolled = await ops_http.post(
        "/api/v1/enroll", json={"code": code, "device_name": "desk"}, headers=protocol_headers()
    )
    token = enrolled.json()["token"]
    reused = await ops_http.post(
        "/api/v1/enroll", json={"code": code, "device_name": "desk"}, headers=protocol_headers()
    )
    await ops_http.get("/api/v1/sync/pull", headers=protocol_headers(token))
    await ops_http.get("/api/v1/sync/pull", headers=protocol_headers(token + "x"))  # refused token
    assert enrolled.status_code == 200 and reused.status_code >= 400

    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) >= 4  # the test looked at real request logs
    formatter = JsonFormatter()
    for record in caplog.records:
        for text in (record.getMessage(), formatter.format(record)):
            assert token not in text and code not in text
