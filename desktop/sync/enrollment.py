"""Enrolling an installation, and finding what an enrolled one needs to connect.

Used by ``branchsync enroll`` and by the app's first-run dialog alike. The token goes
to ``desktop.config.credentials`` (keyring or a private file), everything else to the cache's
``sync_state``; the clock offset is measured from the enrolment answer itself, so the
very first local edits are already stamped with the server's time.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from desktop.cache import Cache, Key
from desktop.config import mark_code_used
from desktop.config.credentials import load_token, save_token
from desktop.sync.clock_offset import estimate
from desktop.sync.errors import AlreadyEnrolled, EnrollmentRefused, NotEnrolled
from desktop.sync.http_client import SyncHttpClient
from desktop.sync.runner import Endpoint
from protocol.hlc import system_wall_ms

__all__ = ["Enrolled", "endpoint_for", "enroll_device", "normalise_server_url"]


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What a successful enrolment gave this installation."""

    device_id: str
    branch_id: str
    branch_name: str
    server_url: str
    clock_offset_ms: int


def normalise_server_url(url: str) -> str:
    """``url`` without surrounding blanks or a trailing slash.

    Raises:
        ValueError: it is not an ``http://`` or ``https://`` URL.
    """
    cleaned = url.strip().rstrip("/")
    scheme, _, rest = cleaned.partition("://")
    if scheme.lower() not in ("http", "https") or not rest:
        raise ValueError(f"the server URL must look like https://sync.example.com, not {url!r}")
    return cleaned


async def enroll_device(
    cache: Cache,
    server_url: str,
    code: str,
    device_name: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    wall_ms: Callable[[], int] = system_wall_ms,
) -> Enrolled:
    """Enrol the installation whose cache is ``cache`` with the server at ``server_url``.

    Raises:
        ValueError: ``server_url`` is not an http(s) URL.
        AlreadyEnrolled: the installation is enrolled with another server.
        EnrollmentRefused: the code is unknown, used or expired.
        TransportError: the server cannot be reached or refused otherwise.
        CredentialsError, StorageError: the token or the enrolment could not be saved.
    """
    server_url = normalise_server_url(server_url)
    state = cache.state()
    if state.enrolled and state.server_url not in (None, server_url):
        raise AlreadyEnrolled(
            f"this data folder is enrolled with {state.server_url}; use another data folder for {server_url}"
        )
    async with SyncHttpClient(server_url, verify=ssl_context, wall_ms=wall_ms) as http:
        try:
            answer, timing = await http.enroll(code, device_name)
        except EnrollmentRefused:
            mark_code_used(cache.data_dir, code)  # the server has seen it: never try it again
            raise
    mark_code_used(cache.data_dir, code)
    save_token(cache.data_dir, answer.device_id, answer.token)
    cache.set_enrollment(
        device_id=answer.device_id,
        branch_id=answer.branch.id,
        branch_name=answer.branch.name,
        server_url=server_url,
        epoch=answer.epoch,
        branch_timezone=answer.branch.timezone,
    )
    measured = estimate(timing.sent_ms, timing.received_ms, answer.server_hlc, answer.server_wall_ms)
    offset = measured.offset_ms
    cache.set_state({Key.CLOCK_OFFSET_MS: offset, Key.CLOCK_UNCERTAINTY_MS: measured.uncertainty_ms})
    cache.observe_hlc(answer.server_hlc)
    return Enrolled(answer.device_id, answer.branch.id, answer.branch.name, server_url, offset)


def endpoint_for(cache: Cache, ssl_context: ssl.SSLContext | None = None) -> Endpoint:
    """The server and token of an enrolled installation.

    Raises:
        NotEnrolled: no device id, server or token (run ``branchsync enroll`` first).
        CredentialsError: the token file exists but cannot be read.
    """
    state = cache.state()
    if state.device_id is None or state.server_url is None:
        raise NotEnrolled(
            "this installation is not enrolled yet: run `branchsync enroll --server URL --code CODE`"
        )
    token = load_token(cache.data_dir, state.device_id)
    if token is None:
        raise NotEnrolled(
            "this installation's device token is missing: enrol it again with a new code from IT"
        )
    return Endpoint(state.server_url, token, ssl_context)
