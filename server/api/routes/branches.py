"""``GET /api/v1/branches``: the branch directory (names, time zones, devices) for desktops.

The answer carries a strong ``ETag``; a request whose ``If-None-Match`` names it gets
``304 Not Modified`` with no body, so a reconnect costs the same at 20 devices and at
20,000 when nothing changed. A client that sends no ``If-None-Match`` (every desktop
before this version) gets the full answer as before.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from protocol.messages import DirectoryResponse
from protocol.wire import BRANCHES_PATH
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.openapi import error_responses
from server.identity.branch_directory import directory_etag, read_directory

__all__ = ["etag_matches", "router"]

router = APIRouter(tags=["directory"], responses=error_responses(401, 429))

_CACHE_CONTROL = "private, no-cache"
"""Per device (it needs a token) and always revalidated: a proxy never serves it to another."""


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (RFC 9110 §13.1.2: weak comparison, or ``*``)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


@router.get(
    BRANCHES_PATH,
    response_model=DirectoryResponse,
    responses={304: {"description": "Unchanged since the ``If-None-Match`` tag; no body"}},
)
async def branch_directory(
    device: CurrentDevice,
    runtime: RuntimeDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Every branch (by name, with its IANA time zone or null) and every device ever enrolled,
    revoked ones included, so a conflict can always say which device and branch won."""
    del device  # authenticated and rate limited; every device may read the whole directory
    async with runtime.engine.connect() as conn:
        etag = await directory_etag(conn)
        headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL}
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        directory = await read_directory(conn)
    return Response(directory.model_dump_json(), media_type="application/json", headers=headers)
