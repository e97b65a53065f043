"""``POST /api/v1/enroll``: a PC trades IT's one-time code for its own device token."""

from __future__ import annotations

from fastapi import APIRouter

from protocol.messages import BranchInfo, EnrollRequest, EnrollResponse
from server.deps import StateDep
from server.enrollment import enroll

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["enrolment"])


@router.post(
    "/enroll",
    response_model=EnrollResponse,
    responses={403: {"description": "The code is unknown, used or expired (`enroll_code_*`)."}},
)
async def enroll_device(body: EnrollRequest, state: StateDep) -> EnrollResponse:
    """Enrol this device in the branch the code was issued for; the token is shown only once."""
    async with state.engine.begin() as conn:
        done = await enroll(conn, body.code, body.device_name, body.app_version)
    return EnrollResponse(
        device_id=str(done.device_id),
        token=done.token,
        branch=BranchInfo(id=str(done.branch_id), name=done.branch_name, timezone=done.branch_timezone),
        server_hlc=state.clock.now(),
        epoch=state.epoch,
    )
