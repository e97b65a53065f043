"""``POST /api/v1/enroll``: a PC trades IT's one-time code for its own device token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from protocol.messages import BranchInfo, EnrollRequest, EnrollResponse
from protocol.wire import ENROLL_PATH
from server.api.deps import RuntimeDep, client_address, within_rate
from server.identity.enrollment import enroll

__all__ = ["router"]

router = APIRouter(tags=["enrolment"])


@router.post(
    ENROLL_PATH,
    response_model=EnrollResponse,
    responses={
        403: {"description": "The code is unknown, used or expired (`enroll_code_*`)."},
        429: {"description": "Too many attempts from this address (`rate_limited`, with `Retry-After`)."},
    },
)
async def enroll_device(body: EnrollRequest, request: Request, runtime: RuntimeDep) -> EnrollResponse:
    """Enrol this device in the branch the code was issued for; the token is shown only once."""
    within_rate(runtime.enroll_limiter, client_address(request), "enrolment attempts from this address")
    async with runtime.engine.begin() as conn:
        done = await enroll(conn, body.code, body.device_name, body.app_version)
    return EnrollResponse(
        device_id=str(done.device_id),
        token=done.token,
        branch=BranchInfo(id=str(done.branch_id), name=done.branch_name, timezone=done.branch_timezone),
        server_hlc=runtime.clock.now(),
        epoch=runtime.epoch,
        server_wall_ms=runtime.clock.wall_ms(),
    )
