"""``GET /api/v1/branches``: the branch directory (names, time zones, devices) for desktops."""

from __future__ import annotations

from fastapi import APIRouter

from protocol.messages import DirectoryResponse
from protocol.wire import BRANCHES_PATH
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.openapi import error_responses
from server.identity.branch_directory import read_directory

__all__ = ["router"]

router = APIRouter(tags=["directory"], responses=error_responses(401, 429))


@router.get(BRANCHES_PATH, response_model=DirectoryResponse)
async def branch_directory(device: CurrentDevice, runtime: RuntimeDep) -> DirectoryResponse:
    """Every branch (by name, with its IANA time zone or null) and every device ever enrolled,
    revoked ones included, so a conflict can always say which device and branch won."""
    del device  # authenticated and rate limited; every device may read the whole directory
    async with runtime.engine.connect() as conn:
        return await read_directory(conn)
