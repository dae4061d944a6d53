"""``create_app``: the ASGI application, a thin layer over one ``AsyncClient``.

Errors are Letta's shape, ``{"detail": ...}``: an unknown id is a 404, a request selfedit
refuses (bad configuration, a tool the toolkit rejects, an edit over a block's limit) a 422
naming every problem, a turn that waited too long for another a 409, an endpoint selfedit
does not have a 501.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from agent._client import AsyncClient
from agent._embedding import EmbeddingModel
from agent._errors import AgentBusyError, BlockError, NotFoundError
from agent._model import Model
from agent.server import (
    _routes_agents,
    _routes_mcp,
    _routes_messages,
    _routes_tools,
    _unsupported,
)
from agent.server._guard import Guard
from agent.server._stand_in import stand_in
from agent.server._tool_source import SourceReader
from toolkit import SchemaError

__all__ = ["DEFAULT_MAX_BODY", "app_from_env", "create_app"]

logger = logging.getLogger("selfedit.server")

DEFAULT_MAX_BODY = 4 * 1024 * 1024
"""The largest request body, in bytes (4 MiB)."""


def create_app(
    client_or_path: AsyncClient | str | Path | None = None,
    *,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    model: Model | None = None,
    embedding: EmbeddingModel | None = None,
    warm: bool = False,
) -> Guard:
    """The REST server: Letta's API as ``letta_client`` 0.1.x speaks it, over selfedit.

    Args:
        client_or_path: an ``AsyncClient`` to serve (the caller closes it), or the database
            (a SQLite path, ``":memory:"`` or a ``postgresql://`` URL; by default
            ``$SELFEDIT_DATABASE_URL``, else ``~/.selfedit/selfedit.db``), opened here and
            closed when the server stops.
        token: when set, every request needs ``Authorization: Bearer <token>`` (else 401).
        max_body: the largest request body in bytes (else 413).
        model: a model every agent uses, whatever it was created with (a stand-in for tests
            and benchmarks; only when opening the database here).
        embedding: likewise, an embedding model for every agent.
        warm: start the process that reads tools' sources (``PUT /v1/tools/``) at startup,
            so the first upsert does not wait for it (``selfedit serve`` does); by default
            it starts at the first upsert.
    """
    owned = not isinstance(client_or_path, AsyncClient)
    if isinstance(client_or_path, AsyncClient):
        client = client_or_path
    else:
        client = AsyncClient(client_or_path, model=model, embedding=embedding)

    reader = SourceReader()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            reader.start()
        try:
            yield
        finally:
            reader.close()
            if owned:
                await client.aclose()

    app = FastAPI(
        title="selfedit",
        summary="Letta's REST API, served by selfedit",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.client = client
    app.state.tool_reader = reader
    for errors, status in _STATUS.items():
        app.add_exception_handler(errors, _handler(status))
    app.add_exception_handler(RequestValidationError, _invalid)
    for module in (_routes_agents, _routes_messages, _routes_mcp, _routes_tools, _unsupported):
        app.include_router(module.router)
    guarded = Guard(app, token=token, max_body=max_body)
    guarded.app_state = app.state  # type: ignore[attr-defined]
    return guarded


_STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    SchemaError: 422,  # ConfigError too
    BlockError: 422,
    AgentBusyError: 409,
}


def _handler(status: int) -> Any:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        content: dict[str, Any] = {"detail": str(error)}
        if isinstance(error, SchemaError):
            content["problems"] = error.problems
        return JSONResponse(content, status_code=status)

    return handle


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    errors = error.errors() if isinstance(error, RequestValidationError) else []
    detail = jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode(errors="replace")})
    return JSONResponse({"detail": detail}, status_code=422)


GC_YOUNG = 10_000
"""Allocations between young collections in a server worker (Python's default is 700)."""


def _tune_gc() -> None:
    """A server worker's collector: what startup built is never collected, and rarely scanned.

    Everything imported and built so far (modules, schemas, the app) lives as long as the
    process, so it is moved out of the collector's generations (``gc.freeze``); and young
    collections run every ``GC_YOUNG`` allocations instead of 700, since a worker with many
    agents in memory allocates many short-lived objects per request. Only ``selfedit serve``
    workers do this (``SELFEDIT_SERVER_GC=default`` keeps Python's defaults); an app from
    ``create_app`` leaves the embedding process's collector alone.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


def app_from_env() -> Guard:
    """The app as ``selfedit serve`` configures it, for each uvicorn worker.

    Reads ``SELFEDIT_SERVER_DB``, ``SELFEDIT_SERVER_TOKEN``, ``SELFEDIT_SERVER_MAX_BODY`` and
    ``SELFEDIT_SERVER_STAND_IN`` (see ``selfedit serve --help``), and ``SELFEDIT_SERVER_GC``
    (``default`` keeps Python's collector settings; see ``_tune_gc``).
    """
    env = os.environ
    model, embedding = stand_in(env.get("SELFEDIT_SERVER_STAND_IN") or None)
    app = create_app(
        env.get("SELFEDIT_SERVER_DB") or None,
        token=env.get("SELFEDIT_SERVER_TOKEN") or None,
        max_body=int(env.get("SELFEDIT_SERVER_MAX_BODY") or DEFAULT_MAX_BODY),
        model=model,
        embedding=embedding,
        warm=True,
    )
    if env.get("SELFEDIT_SERVER_GC") != "default":
        _tune_gc()
    return app
