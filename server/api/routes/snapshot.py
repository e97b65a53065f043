"""``GET /api/v1/sync/snapshot``: every row at one change number, for a new device's first sync.

Thin: the read is ``server.store.snapshot_read``, the format ``protocol.snapshot``. The
read runs on the background pool (never a push's connection), one snapshot at a time
per process (``Runtime.snapshot_slots``), so a room of new PCs cannot take the
background work's connections either. ``BRANCHSYNC_SNAPSHOT_ENABLED=false`` answers
404, as a server older than the endpoint does: devices then pull page by page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from protocol.errors import ErrorCode
from protocol.snapshot import SNAPSHOT_MEDIA_TYPE, SnapshotEncoder, SnapshotHeader
from protocol.wire import SNAPSHOT_PATH
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.openapi import error_responses
from server.api.runtime import Runtime
from server.errors import ApiError
from server.store.snapshot_read import read_snapshot

__all__ = ["router"]

router = APIRouter(tags=["sync"], responses=error_responses(401, 404, 429))


@router.get(
    SNAPSHOT_PATH,
    response_class=StreamingResponse,
    responses={200: {"content": {SNAPSHOT_MEDIA_TYPE: {}}, "description": "The gzip stream."}},
)
async def snapshot(device: CurrentDevice, runtime: RuntimeDep) -> StreamingResponse:
    """Every row (tombstones too) as of one change number; pull from its ``seq`` afterwards."""
    del device  # authenticated and rate limited; every branch reads every row
    if not runtime.settings.snapshot_enabled:
        raise ApiError(404, ErrorCode.NOT_FOUND, "this server offers none: pull from 0")
    return StreamingResponse(_stream(runtime), media_type=SNAPSHOT_MEDIA_TYPE)


async def _stream(runtime: Runtime) -> AsyncIterator[bytes]:
    async with runtime.snapshot_slots, runtime.background_engine.connect() as conn:
        facts, rows = await read_snapshot(conn)
        header = SnapshotHeader(facts.seq, runtime.epoch, runtime.clock.now(), facts.top_hlc, facts.columns)
        encoder = SnapshotEncoder(header)
        yield encoder.start()
        async for _, chunk in rows():
            out = encoder.end_section() if chunk is None else encoder.rows(chunk)
            if out:
                yield out
        yield encoder.finish()
