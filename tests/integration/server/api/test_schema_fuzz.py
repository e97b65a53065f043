"""Schema fuzzing (issue 12): schemathesis sends every operation of ``/openapi.json`` to a
real server on a real PostgreSQL, with a valid device token, and checks each answer: no
5xx, every error in the contract's JSON form (``{"error": {"code", "message"}}``), and
status, headers and body as the document says (all of schemathesis's checks).

One test per operation, deterministic (derandomized, no example database) and bounded
(schemathesis's boundary cases, then ``MAX_EXAMPLES`` drawn ones, per operation; about
20 s in all). The operations share one server and database, so rows one operation
creates are there for the next. The schema is the app's own document, read at
collection time so that pytest lists one test per operation;
``test_the_fuzzed_document_is_the_one_served`` pins that it is what ``/openapi.json``
serves. WebSocket routes are not in the document, and so are not fuzzed here
(tests/integration/server/realtime covers them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET

from protocol.messages import ErrorBody
from protocol.wire import SOCKET_PATH
from server.app import create_app
from server.settings import Settings
from tests.support import postgres
from tests.support.devices import Device, enrolled_device_sync
from tests.support.live_server import LiveServer, live_server

MAX_EXAMPLES = 30

CONFIG = f"""
# Hypothesis times how long drawing an example takes: on a busy machine that says nothing
# about the server, and would make the fuzz flaky.
suppress-health-check = ["too_slow"]

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"
# The contract refuses a NUL in any text it would store (PostgreSQL cannot hold one) with
# 422 (protocol.validate.UNSTORABLE, protocol.messages.STORABLE), which JSON Schema cannot
# say next to a length limit and a "not blank" pattern; test_hostile_input.py pins those
# answers. Without this, every NUL in a "valid" string is a false "valid data rejected".
allow-x00 = false

[[operations]]
include-name = "POST /api/v1/sync/push"
# The contract answers a push of more than 500 mutations 413 too_large (documented for this
# operation: engines split their outbox on it), not the 400/422 the check expects of a body
# the schema refuses; the default list plus 413, for this operation only.
checks.negative_data_rejection.expected-statuses = [
    400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx",
]
"""

REQUEST_TIMEOUT_S = 30
"""Generous: the machine may be busy with other suites; a slow answer is not a failure here."""

_UNLIMITED = 10**9


@pytest.fixture(scope="module")
def fuzz_server(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server on one fresh database for all the operations. Its rate limits are out of
    reach: the fuzz fires requests as fast as it can and must reach the handlers, not the
    documented 429 (tests/integration/server/identity covers the limits)."""
    url = asyncio.run(postgres.create_database(pg_admin_url))
    settings = Settings(
        database_url=url,
        data_dir=tmp_path_factory.mktemp("fuzz"),
        rate_per_s=_UNLIMITED,
        rate_burst=_UNLIMITED,
        auth_failures_per_min=_UNLIMITED,
        auth_failure_burst=_UNLIMITED,
        enroll_rate_per_min=_UNLIMITED,
        enroll_burst=_UNLIMITED,
    )
    try:
        with live_server(settings) as running:
            yield running
    finally:
        asyncio.run(postgres.drop_database(pg_admin_url, url))


@pytest.fixture(scope="module")
def fuzz_device(fuzz_server: LiveServer) -> Device:
    assert fuzz_server.settings.database_url is not None
    return enrolled_device_sync(fuzz_server.url, fuzz_server.settings.database_url)


def _document() -> dict[str, Any]:
    """The app's OpenAPI document; building the app touches no database (its lifespan does)."""
    return create_app(Settings()).openapi()


def error_in_contract_form(ctx: Any, response: Any, case: Any) -> None:
    """Every answer of 400 and above is the contract's JSON error body, and nothing else."""
    if response.status_code < 400:
        return
    headers = {name.lower(): values for name, values in response.headers.items()}
    (content_type,) = headers.get("content-type", [""])
    assert content_type.startswith("application/json"), f"{response.status_code} as {content_type!r}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    detail = ErrorBody.model_validate(body).error
    assert detail.code and detail.message, body


# RFC 3339 allows instants that fall outside the years 1 to 9999 once moved to UTC
# (0001-01-01T00:00:00+01:00); the contract stores UTC and refuses those 422 (pinned in
# tests/unit/protocol/test_validate.py). Valid date-times are drawn from the years it keeps,
# with any whole-minute offset; the first and last instants are in test_hostile_input.py.
schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    ).map(datetime.isoformat),
)
schema = schemathesis.openapi.from_dict(_document(), config=SchemathesisConfig.from_str(CONFIG))


def _unambiguous(body: Any) -> Any:
    """``body`` (or a query) with two things the contract decides and JSON Schema cannot say made plain;
    schemathesis then judges the case by what is sent (it revalidates an edited body):

    - A whole number drawn as a float (``108.0``) is written as an integer: the schema's
      ``integer`` cannot tell them apart, and the contract takes only the integer form
      (tests/unit/protocol/test_validate.py pins ``30.0`` as ``invalid_type``).
    - Text is sent without white space around it (blank text stays as drawn): the contract
      trims text before it checks its length (pinned there too), the schema's
      ``maxLength`` counts the untrimmed string, so "000" and 40 spaces is too long to
      one and a fine phone number to the other.
    """
    if isinstance(body, float) and body.is_integer():
        return int(body)
    if isinstance(body, str):
        return body.strip() or body
    if isinstance(body, dict):
        return {key: _unambiguous(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_unambiguous(value) for value in body]
    return body


@schema.parametrize()
def test_every_operation(case: Any, fuzz_server: LiveServer, fuzz_device: Device) -> None:
    if case.body is not NOT_SET:
        case.body = _unambiguous(case.body)
    if case.query:  # the query's numbers too: pydantic reads "0.0" as 0, as JSON Schema does
        case.query = _unambiguous(case.query)
    case.call_and_validate(
        base_url=fuzz_server.url,
        headers=fuzz_device.headers,
        additional_checks=[error_in_contract_form],
        timeout=REQUEST_TIMEOUT_S,
    )


def test_the_fuzzed_document_is_the_one_served(fuzz_server: LiveServer) -> None:
    served = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=REQUEST_TIMEOUT_S)

    assert served.status_code == 200
    assert served.json() == _document()
    assert SOCKET_PATH not in served.json()["paths"]  # a WebSocket route is not an OpenAPI operation
