"""Every other path under ``/v1``: 501 with a ``detail`` naming what is not supported.

``letta_client`` 0.1.x has many resources selfedit has no counterpart for (sources, groups,
identities, runs, ...); each answers 501 so a caller learns why, never a 500.
A path that differs from a supported one only by its trailing slash says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.routing import Match

__all__ = ["router"]

router = APIRouter()

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _spelling_hint(request: Request) -> str:
    path = request.url.path
    other = path[:-1] if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": other}
    for route in request.app.routes:
        if getattr(route, "name", "") == "unsupported":
            continue
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return f" (paths are exact: this one is {other})"
    return ""


@router.api_route("/v1/{rest:path}", methods=_METHODS, name="unsupported", include_in_schema=False)
async def unsupported(request: Request, rest: str) -> JSONResponse:
    """501: this server does not implement that endpoint."""
    detail = f"{request.method} {request.url.path} is not supported by selfedit"
    return JSONResponse({"detail": detail + _spelling_hint(request)}, status_code=501)
