"""``/v1/tools/``, ``/v1/blocks/`` and ``/v1/health/``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from agent._errors import NotFoundError
from agent.server._letta import BASE_ID_PREFIX, JSON, block_json, tool_json
from agent.server._routes_agents import client_of
from agent.server._schemas import BlockCreate, BlockModify, ToolUpsert
from agent.server._tool_source import SourceReader

__all__ = ["router"]

router = APIRouter(prefix="/v1")

VERSION = "0.6.54"
"""The Letta server version whose API this server speaks."""


@router.get("/health/")
async def health() -> JSON:
    """``client.health.check()``."""
    return {"version": VERSION, "status": "ok"}


@router.put("/tools/")
async def upsert_tool(request: Request, body: ToolUpsert) -> JSON:
    """``client.tools.upsert_from_function(func=...)``: a tool from its source, by name."""
    if body.source_type not in (None, "python"):
        raise HTTPException(501, f"source_type {body.source_type!r}: only python is supported")
    if body.args_json_schema or body.json_schema:
        raise HTTPException(
            501, "a hand-written schema is not supported: it is derived from the source"
        )
    reader: SourceReader = request.app.state.tool_reader
    read = await reader.describe(body.source_code)
    stored = client_of(request).registry.upsert_described(
        name=read.name, source=read.source, schema=read.schema, spec=read.spec
    )
    return tool_json(stored)


router.add_api_route("/tools/", upsert_tool, methods=["POST"], name="create_tool")


@router.get("/tools/")
async def list_tools(request: Request) -> list[JSON]:
    """``client.tools.list()``: the built-in tools, then the stored ones."""
    client = client_of(request)
    stored = client.registry.list()
    names = {t.name for t in stored}
    builtin = [t for n, t in client.registry.standard().items() if n not in names]
    return [*(tool_json(t) for t in builtin), *(tool_json(t) for t in stored)]


@router.get("/tools/{tool_id}")
async def retrieve_tool(request: Request, tool_id: str) -> JSON:
    """``client.tools.retrieve(tool_id)``."""
    client = client_of(request)
    if tool_id.startswith(BASE_ID_PREFIX):
        found = client.registry.standard().get(tool_id.removeprefix(BASE_ID_PREFIX))
        if found is None:
            raise NotFoundError(f"no tool with id {tool_id!r}")
        return tool_json(found)
    for stored in client.registry.list():
        if stored.id == tool_id:
            return tool_json(stored)
    raise NotFoundError(f"no tool with id {tool_id!r}")


@router.delete("/tools/{tool_id}")
async def delete_tool(request: Request, tool_id: str) -> None:
    """``client.tools.delete(tool_id)``: agents that had the tool lose it."""
    if tool_id.startswith(BASE_ID_PREFIX):
        raise HTTPException(422, f"{tool_id!r} is a built-in tool: it cannot be deleted")
    await client_of(request).tools.delete(tool_id)


@router.post("/blocks/")
async def create_block(request: Request, body: BlockCreate) -> JSON:
    """``client.blocks.create(label=..., value=...)``: a block on its own, to attach."""
    fields = body.model_dump(exclude_none=True)
    return block_json(await client_of(request).blocks.create(**fields))


@router.get("/blocks/")
async def list_blocks(
    request: Request,
    label: str | None = None,
    templates_only: bool = False,
    name: str | None = None,
    identity_id: str | None = None,
) -> list[JSON]:
    """``client.blocks.list(label=...)``: every block, oldest first.

    selfedit has no block templates, block names or identities: filtering by them finds none.
    """
    if templates_only or name is not None or identity_id is not None:
        return []
    return [block_json(b) for b in await client_of(request).blocks.list(label=label)]


@router.delete("/blocks/{block_id}")
async def delete_block(request: Request, block_id: str) -> JSON:
    """``client.blocks.delete(block_id)``: the block as it was, detached from every agent."""
    try:
        return block_json(await client_of(request).blocks.delete(block_id))
    except NotFoundError:
        raise HTTPException(404, "Block not found") from None


@router.get("/blocks/{block_id}")
async def retrieve_block(request: Request, block_id: str) -> JSON:
    """``client.blocks.retrieve(block_id)``: 404 ``Block not found`` for an unknown id."""
    try:
        return block_json(await client_of(request).blocks.retrieve(block_id))
    except NotFoundError:
        raise HTTPException(404, "Block not found") from None


@router.patch("/blocks/{block_id}")
async def modify_block(request: Request, block_id: str, body: BlockModify) -> JSON:
    """``client.blocks.modify(block_id, ...)``: one atomic write, never waiting for a turn."""
    client = client_of(request)
    block = client.store.block(block_id)
    if block is None:
        raise HTTPException(404, "Block not found")
    if body.label is not None and body.label != block.label:
        raise HTTPException(501, "renaming a block is not supported by selfedit")
    with client.store.transaction():
        fresh = client.store.block(block_id) or block
        edited = fresh.edited(value=body.value, limit=body.limit, description=body.description)
        client.store.save_block(edited)
    return block_json(edited)
