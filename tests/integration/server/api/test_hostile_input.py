"""Bad input from outside gets the contract's JSON error, 422 for a body or query the
contract cannot read, never a 500 (found by schemathesis and by hand, issue 12)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from protocol.wire import ENROLL_PATH, PULL_PATH, PUSH_PATH, records_path
from tests.support.devices import Device, issue_code, protocol_headers

TOO_BIG = str(2**63)
"""One past PostgreSQL's bigint: a change number or offset no database can hold."""


def _assert_contract_error(answer: httpx.Response, status: int = 422) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (PULL_PATH, {"since": TOO_BIG}),
        (records_path("clients"), {"offset": TOO_BIG}),
        (records_path("clients"), {"updated_since": TOO_BIG}),
        (records_path("appointments"), {"offset": "9" * 30}),
    ],
)
async def test_query_numbers_beyond_a_bigint_are_422(
    http: httpx.AsyncClient, north_device: Device, path: str, params: dict[str, str]
) -> None:
    answer = await http.get(path, params=params, headers=north_device.headers)

    _assert_contract_error(answer)


async def test_the_largest_change_number_is_still_a_valid_pull(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    answer = await http.get(PULL_PATH, params={"since": str(2**63 - 1)}, headers=north_device.headers)

    assert answer.status_code == 200, answer.text
    assert answer.json()["changes"] == []


async def test_a_create_with_an_empty_id_is_422_and_creates_nothing(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    answer = await http.post(
        records_path("clients"), json={"id": "", "name": "Ann"}, headers=north_device.headers
    )

    _assert_contract_error(answer)
    assert answer.json()["error"]["field"] == "id"
    listed = await http.get(records_path("clients"), headers=north_device.headers)
    assert listed.json()["total"] == 0


@pytest.mark.parametrize("field", ["device_name", "app_version"])
async def test_a_nul_in_the_enrolment_is_422_and_keeps_the_code(
    http: httpx.AsyncClient, database_url: str, field: str
) -> None:
    code = await issue_code(database_url)
    body = {"code": code, "device_name": "Front desk", "app_version": "1.0", field: "Front\x00desk"}

    answer = await http.post(ENROLL_PATH, json=body, headers=protocol_headers())

    _assert_contract_error(answer)
    assert answer.json()["error"]["field"] == field
    retry = await http.post(ENROLL_PATH, json={**body, field: "Front desk"}, headers=protocol_headers())
    assert retry.status_code == 200, retry.text


@pytest.mark.parametrize(
    "body",
    [
        b'{"mutations": [{"id": "\xff\xfe"}]}',  # not UTF-8
        b'{"mutations": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",  # very deep nesting
        b'{"mutations": [' + b"9" * 5_000 + b"]}",  # a 5,000-digit integer
    ],
    ids=["not-utf8", "deep-nesting", "huge-integer"],
)
async def test_a_body_the_contract_cannot_read_is_422(
    http: httpx.AsyncClient, north_device: Device, body: bytes
) -> None:
    headers = {**north_device.headers, "Content-Type": "application/json"}

    answer = await http.post(PUSH_PATH, content=body, headers=headers)

    _assert_contract_error(answer)
    assert answer.json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (records_path("clients"), {"GET", "POST"}),
        (f"{records_path('clients')}/{uuid.UUID(int=1)}", {"GET", "PATCH", "DELETE"}),
        (PUSH_PATH, {"POST"}),
    ],
    ids=["collection", "row", "push"],
)
async def test_a_method_a_resource_lacks_is_405_allowing_every_method_it_has(
    http: httpx.AsyncClient, north_device: Device, path: str, allowed: set[str]
) -> None:
    """Each method of a path is a route of its own: the 405 must name them all (RFC 9110 §15.5.6),
    not only those of the first route that matched the path (found by the schema fuzz)."""
    answer = await http.request("OPTIONS", path, headers=north_device.headers)

    _assert_contract_error(answer, 405)
    assert set(answer.headers["Allow"].split(", ")) == allowed


@pytest.mark.parametrize(
    "starts_at",
    ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"],
    ids=["first-instant", "last-instant"],
)
async def test_the_first_and_last_storable_instants_read_back_as_written(
    http: httpx.AsyncClient, north_device: Device, starts_at: str
) -> None:
    """asyncpg reads these two instants as naive datetimes (its stand-ins for ±infinity): a
    create with one answered 500 after its commit, and the fan-out could not read past the
    row (found by the schema fuzz: POST /api/v1/appointments, starts_at 0001-01-01T00:00:00-00:00)."""
    body = {"client_id": str(uuid.UUID(int=7)), "starts_at": starts_at}

    created = await http.post(records_path("appointments"), json=body, headers=north_device.headers)
    pulled = await http.get(PULL_PATH, params={"since": 0}, headers=north_device.headers)

    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] == starts_at
    assert pulled.status_code == 200, pulled.text
    assert [change["fields"]["starts_at"] for change in pulled.json()["changes"]] == [starts_at]
