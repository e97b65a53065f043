"""Operations endpoints: ``/healthz`` for load balancers and process supervisors."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from protocol.errors import ErrorCode
from server.api.deps import RuntimeDep
from server.api.error_handlers import error_response

__all__ = ["Health", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    epoch: str


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"description": "PostgreSQL cannot be reached: take this process out of rotation."}},
)
async def healthz(runtime: RuntimeDep) -> Health | JSONResponse:
    """200 while this process can reach PostgreSQL, else 503: a server without its
    database can accept nothing, so a load balancer should send traffic elsewhere."""
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("health check: database unreachable: %s", exc)
        return error_response(503, ErrorCode.INTERNAL, "database unreachable")
    return Health(status="ok", epoch=runtime.epoch)
