"""``/readyz`` for load balancers and systemd, ``/metrics`` for Prometheus."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from protocol.errors import ErrorCode
from server.api.deps import RuntimeDep, client_address
from server.errors import ApiError
from server.identity.authentication import bearer_token
from server.observability.readiness import check_readiness
from server.observability.snapshot import refresh_metrics

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the body's `checks` say which check failed."}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database answers, its schema is current, the fan-out listener is
    connected and the epoch is the one this process announces; else 503."""
    checks = await check_readiness(runtime.engine, runtime.epoch, runtime.fanout.listener_connected)
    body: dict[str, object] = {"checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
    failed = [c for c in checks if not c.ok]
    if not failed:
        return JSONResponse({"status": "ready", **body})
    message = "not ready: " + "; ".join(f"{c.name} {c.detail}" for c in failed)
    error = {"code": str(ErrorCode.INTERNAL), "message": message}
    return JSONResponse({"status": "not_ready", "error": error, **body}, status_code=503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus text format. With ``metrics_token`` set, it wants that bearer token;
    without one, only this host may read it (the figures name branches and devices)."""
    expected = runtime.settings.metrics_token
    if expected is not None:
        given = bearer_token(request.headers.get("authorization")) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise ApiError(401, ErrorCode.UNAUTHORIZED, "the metrics token is missing or wrong")
    elif not _is_loopback(client_address(request)):
        raise ApiError(
            401, ErrorCode.UNAUTHORIZED, "set BRANCHSYNC_METRICS_TOKEN to read /metrics from another host"
        )
    await refresh_metrics(
        runtime.metrics, runtime.background_engine, runtime.fanout.hub, runtime.settings, runtime.statuses
    )
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # "unknown", or a name a test transport made up
        return False
