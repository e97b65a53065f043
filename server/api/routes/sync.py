"""``POST /api/v1/sync/push`` and ``GET /api/v1/sync/pull``: the desktop's sync endpoints.

Thin: the write path is ``server.sync.write_path``, the read path ``server.store.change_log``. Every
answer carries ``server_hlc`` so a device can measure its clock offset, and a pull
carries the ``epoch`` so a device notices a restored database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from protocol.errors import ErrorCode
from protocol.messages import Mutation, PullResponse, PushResponse
from protocol.version import DEFAULT_PULL_LIMIT, MAX_MUTATIONS_PER_PUSH, MAX_PULL_LIMIT, MAX_QUERY_NUMBER
from protocol.wire import PULL_PATH, PUSH_PATH
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.openapi import error_responses
from server.errors import ApiError
from server.store.change_log import read_changes
from server.sync.write_path import Author, apply_mutations

__all__ = ["router"]

router = APIRouter(tags=["sync"], responses=error_responses(401, 422, 429))


class PushBody(BaseModel):
    """``protocol.messages.PushRequest`` without its length check, so that too many
    mutations is answered 413 ``too_large`` (as the contract says), not 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mutations: Annotated[list[Mutation], Field(json_schema_extra={"maxItems": MAX_MUTATIONS_PER_PUSH})]


@router.post(PUSH_PATH, response_model=PushResponse, responses=error_responses(413))
async def push(body: PushBody, device: CurrentDevice, runtime: RuntimeDep) -> PushResponse:
    """Apply a batch of mutations; each is answered on its own (applied, duplicate, rejected)."""
    if len(body.mutations) > MAX_MUTATIONS_PER_PUSH:
        raise ApiError(
            413,
            ErrorCode.TOO_LARGE,
            f"{len(body.mutations)} mutations in one push; send at most {MAX_MUTATIONS_PER_PUSH}",
        )
    results = await apply_mutations(runtime.writer, Author(device.id, device.branch_id), body.mutations)
    clock = runtime.clock
    return PushResponse(results=results, server_hlc=clock.now(), server_wall_ms=clock.wall_ms())


@router.get(PULL_PATH, response_model=PullResponse)
async def pull(
    device: CurrentDevice,
    runtime: RuntimeDep,
    since: Annotated[
        int,
        Query(ge=0, le=MAX_QUERY_NUMBER, description="The last change number applied (0: from the start)."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = DEFAULT_PULL_LIMIT,
) -> PullResponse:
    """The changes committed after ``since``, in change-number order (full row states)."""
    del device  # authenticated and rate limited; a pull reads every branch's changes
    async with runtime.engine.connect() as conn:
        changes, cursor, has_more = await read_changes(conn, since, limit)
    clock = runtime.clock
    return PullResponse(
        changes=changes,
        cursor=cursor,
        has_more=has_more,
        server_hlc=clock.now(),
        epoch=runtime.epoch,
        server_wall_ms=clock.wall_ms(),
    )
