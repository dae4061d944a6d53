"""``/v1/agents/``: agents, their core memory blocks, archival memory and context window."""

from __future__ import annotations

import random
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from agent._client import AsyncClient
from agent._errors import NotFoundError
from agent._rules import dump_rules
from agent._state import AgentState
from agent.server._letta import (
    BASE_ID_PREFIX,
    JSON,
    agent_json,
    block_json,
    mcp_name,
    memory_json,
    passage_json,
    tool_json,
)
from agent.server._schemas import AgentCreate, AgentModify, BlockModify, PassageCreate

__all__ = ["router"]

router = APIRouter(prefix="/v1/agents")

_ADJECTIVES = ("Amazing", "Brave", "Calm", "Dedicated", "Exotic", "Gentle", "Kindhearted", "Lucky")
_ANIMALS = ("Raccoon", "Jellyfish", "Mammoth", "Zebra", "Otter", "Heron", "Lynx", "Panda")


def client_of(request: Request) -> AsyncClient:
    """The ``AsyncClient`` the app serves."""
    client: AsyncClient = request.app.state.client
    return client


def _invented_name() -> str:
    """A name for an agent created without one, as Letta invents them."""
    return random.choice(_ADJECTIVES) + random.choice(_ANIMALS)


def _agent_json(state: AgentState) -> JSON:
    """An ``AgentState``, with the agent's tool rules as Letta shows them.

    ``send_message`` always ends a turn (Letta's ``exit_loop``); selfedit's own
    ``requires_approval`` rules are left out (letta_client 0.1.123 has no such type).
    """
    rules = [r for r in dump_rules(state.tool_rules) if r["type"] != "requires_approval"]
    ending = {"tool_name": "send_message", "type": "exit_loop"}
    return {**agent_json(state), "tool_rules": [ending, *[r for r in rules if r != ending]]}


def _split_tool_ids(tool_ids: list[str]) -> tuple[list[str], list[str]]:
    """Stored tool ids, and the names of built-in and MCP tools named by their REST ids."""
    stored: list[str] = []
    names: list[str] = []
    for tool_id in tool_ids:
        key = _tool_key(tool_id)
        if "name" in key:
            names.append(key["name"])
        else:
            stored.append(tool_id)
    return stored, names


@router.get("/")
async def list_agents(request: Request) -> list[JSON]:
    """``client.agents.list()``."""
    return [_agent_json(a) for a in await client_of(request).agents.list()]


@router.post("/")
async def create_agent(request: Request, body: AgentCreate) -> JSON:
    """``client.agents.create(...)``."""
    client = client_of(request)
    stored, names = _split_tool_ids(body.tool_ids)
    blocks = [b.model_dump(exclude_none=True) for b in body.memory_blocks]
    for block_id in body.block_ids:
        blocks.append((await client.blocks.retrieve(block_id)).model_dump())
    options: dict[str, Any] = {"model": body.model} if body.model else {}
    state = await client.agents.create(
        name=body.name or _invented_name(),
        memory_blocks=blocks,
        embedding=body.embedding,
        system=body.system,
        tools=[*body.tools, *names],
        tool_ids=stored,
        include_base_tools=body.include_base_tools,
        context_window_limit=body.context_window_limit,
        tool_rules=body.tool_rules or (),
        **options,
    )
    return _agent_json(state)


@router.get("/{agent_id}")
async def retrieve_agent(request: Request, agent_id: str) -> JSON:
    """``client.agents.retrieve(agent_id)``."""
    return _agent_json(await client_of(request).agents.retrieve(agent_id))


@router.patch("/{agent_id}")
async def modify_agent(request: Request, agent_id: str, body: AgentModify) -> JSON:
    """``client.agents.modify(agent_id, ...)``: name, system prompt, model, tools, blocks, rules.

    The same ``model`` or ``embedding`` as now changes nothing (letta_client sends back what
    it read); settings selfedit has no counterpart for answer 501, naming them.
    """
    client = client_of(request)
    unsupported = sorted(k for k, v in (body.model_extra or {}).items() if v is not None)
    if unsupported:
        raise HTTPException(501, f"changing {', '.join(unsupported)} is not supported by selfedit")
    stored, names = _split_tool_ids(body.tool_ids) if body.tool_ids is not None else (None, None)
    row = client.row(agent_id)
    state = await client.agents.modify(
        agent_id,
        name=body.name,
        system=body.system,
        model=None if body.model == row.model else body.model,
        embedding=None if body.embedding == row.embedding else body.embedding,
        context_window_limit=body.context_window_limit,
        tools=names,
        tool_ids=stored,
        block_ids=body.block_ids,
        tool_rules=body.tool_rules,
    )
    return _agent_json(state)


@router.patch("/{agent_id}/reset-messages")
async def reset_messages(
    request: Request, agent_id: str, add_default_initial_messages: bool | None = None
) -> JSON:
    """``client.agents.messages.reset(agent_id)``: a fresh conversation (waits for a turn)."""
    if add_default_initial_messages:
        raise HTTPException(501, "add_default_initial_messages is not supported by selfedit")
    return _agent_json(await client_of(request).agents.messages.reset(agent_id))


@router.delete("/{agent_id}")
async def delete_agent(request: Request, agent_id: str) -> None:
    """``client.agents.delete(agent_id)``."""
    await client_of(request).agents.delete(agent_id)


@router.get("/{agent_id}/tools")
async def agent_tools(request: Request, agent_id: str) -> list[JSON]:
    """``client.agents.tools.list(agent_id)``."""
    return [tool_json(t) for t in (await client_of(request).agents.retrieve(agent_id)).tools]


def _tool_key(tool_id: str) -> dict[str, str]:
    """A REST tool id as the client's ``tool_id=`` or (a built-in's, an MCP tool's) ``name=``."""
    if tool_id.startswith(BASE_ID_PREFIX):
        return {"name": tool_id.removeprefix(BASE_ID_PREFIX)}
    mcp = mcp_name(tool_id)
    if mcp is not None:
        return {"name": mcp}
    return {"tool_id": tool_id}


@router.patch("/{agent_id}/tools/attach/{tool_id}")
async def attach_tool(request: Request, agent_id: str, tool_id: str) -> JSON:
    """``client.agents.tools.attach(agent_id, tool_id)``: the agent, with the tool."""
    tools = client_of(request).agents.tools
    return _agent_json(await tools.attach(agent_id, **_tool_key(tool_id)))


@router.patch("/{agent_id}/tools/detach/{tool_id}")
async def detach_tool(request: Request, agent_id: str, tool_id: str) -> JSON:
    """``client.agents.tools.detach(agent_id, tool_id)``: the agent, without the tool."""
    tools = client_of(request).agents.tools
    return _agent_json(await tools.detach(agent_id, **_tool_key(tool_id)))


@router.get("/{agent_id}/core-memory")
async def core_memory(request: Request, agent_id: str) -> JSON:
    """``client.agents.core_memory.retrieve(agent_id)``."""
    return memory_json(await client_of(request).agents.core_memory.retrieve(agent_id))


@router.get("/{agent_id}/core-memory/blocks")
async def list_blocks(request: Request, agent_id: str) -> list[JSON]:
    """``client.agents.blocks.list(agent_id)``."""
    return [block_json(b) for b in await client_of(request).agents.blocks.list(agent_id)]


@router.patch("/{agent_id}/core-memory/blocks/attach/{block_id}")
async def attach_block(request: Request, agent_id: str, block_id: str) -> JSON:
    """``client.agents.blocks.attach(agent_id, block_id)``: the agent, with the block."""
    blocks = client_of(request).agents.blocks
    return _agent_json(await blocks.attach(agent_id, block_id=block_id))


@router.patch("/{agent_id}/core-memory/blocks/detach/{block_id}")
async def detach_block(request: Request, agent_id: str, block_id: str) -> JSON:
    """``client.agents.blocks.detach(agent_id, block_id)``: the agent, without the block."""
    blocks = client_of(request).agents.blocks
    return _agent_json(await blocks.detach(agent_id, block_id=block_id))


@router.get("/{agent_id}/core-memory/blocks/{block_label}")
async def retrieve_block(request: Request, agent_id: str, block_label: str) -> JSON:
    """``client.agents.blocks.retrieve(agent_id, block_label)``."""
    blocks = client_of(request).agents.blocks
    return block_json(await blocks.retrieve(agent_id, block_label=block_label))


@router.patch("/{agent_id}/core-memory/blocks/{block_label}")
async def modify_block(
    request: Request, agent_id: str, block_label: str, body: BlockModify
) -> JSON:
    """``client.agents.blocks.modify(agent_id, block_label, value=...)``: never waits for a turn."""
    if body.label is not None and body.label != block_label:
        raise HTTPException(501, "renaming a block is not supported by selfedit")
    block = await client_of(request).agents.blocks.modify(
        agent_id,
        block_label=block_label,
        value=body.value,
        limit=body.limit,
        description=body.description,
    )
    return block_json(block)


@router.get("/{agent_id}/archival-memory")
async def list_passages(
    request: Request, agent_id: str, search: str | None = None, limit: int | None = None
) -> list[JSON]:
    """``client.agents.passages.list(agent_id)``: oldest first (``search``: best first)."""
    if limit is not None and limit < 1:
        raise HTTPException(422, "limit must be at least 1")
    passages = client_of(request).agents.passages
    found = await passages.list(agent_id=agent_id, query=search, limit=limit or 1000)
    return [passage_json(p, agent_id) for p in found]


@router.post("/{agent_id}/archival-memory")
async def create_passage(request: Request, agent_id: str, body: PassageCreate) -> list[JSON]:
    """``client.agents.passages.create(agent_id, text=...)``: a list with the new passage."""
    passage = await client_of(request).agents.passages.create(agent_id=agent_id, text=body.text)
    return [passage_json(passage, agent_id)]


@router.delete("/{agent_id}/archival-memory/{memory_id}")
async def delete_passage(request: Request, agent_id: str, memory_id: str) -> None:
    """``client.agents.passages.delete(agent_id, memory_id)``."""
    await client_of(request).agents.passages.delete(agent_id=agent_id, passage_id=memory_id)


@router.get("/{agent_id}/context")
async def context_window(request: Request, agent_id: str) -> JSON:
    """``client.agents.context.retrieve(agent_id)``: where the context window goes."""
    client = client_of(request)
    if client.store.agent(agent_id) is None:
        raise NotFoundError(f"no agent with id {agent_id!r}")
    window = await client.agents.context.retrieve(agent_id)
    fields = window.model_dump(mode="json")
    return {
        **fields,
        "context_window_size_max": window.context_window_limit,
        "context_window_size_current": window.total_tokens,
        "num_messages": window.messages_in_context,
        "num_archival_memory": len(await client.agents.passages.list(agent_id=agent_id)),
        "num_recall_memory": window.messages_in_recall,
    }
