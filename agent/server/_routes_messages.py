"""``/v1/agents/{agent_id}/messages``: turns (whole or streamed) and the conversation.

A stream is ``text/event-stream``: one ``data: <json>`` event per message as each step
finishes, the usage chunk, then ``data: [DONE]``. A turn refused before its first message (bad
messages, a busy agent) is answered with its status (422, 409, ...), as a whole turn is, not
with a stream cut short. A client that goes away mid-stream ends the turn the way any stream
left early does: the turn is cancelled, its lease given back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse

from agent._errors import NotFoundError
from agent._messages import Message, Usage, UsageStatistics
from agent.server._letta import JSON, messages_json, usage_json
from agent.server._routes_agents import client_of
from agent.server._schemas import MessageCreate

__all__ = ["router"]

router = APIRouter(prefix="/v1/agents/{agent_id}")

_Handover = asyncio.Queue[Message | Exception | None]
"""A turn's messages, then ``None`` when it ended, or the exception that ended it."""


def _inputs(body: MessageCreate) -> list[Mapping[str, Any]]:
    return [m.model_dump() for m in body.messages]


def _name(request: Request, agent_id: str) -> str:
    row = client_of(request).store.agent(agent_id)
    if row is None:
        raise NotFoundError(f"no agent with id {agent_id!r}")
    return row.name


@router.post("/messages")
async def create_message(request: Request, agent_id: str, body: MessageCreate) -> JSON:
    """``client.agents.messages.create(...)``: this turn's messages (not the user's) and usage."""
    name, inputs = _name(request, agent_id), _inputs(body)
    response = await client_of(request).agents.messages.create(agent_id=agent_id, messages=inputs)
    return {"messages": messages_json(response.messages, name), "usage": usage_json(response.usage)}


@router.post("/messages/stream")
async def create_stream(request: Request, agent_id: str, body: MessageCreate) -> StreamingResponse:
    """``client.agents.messages.create_stream(...)``: server-sent events.

    With ``stream_tokens``, the reply arrives as the model writes it: ``assistant_message``
    and ``reasoning_message`` chunks that share their message's id.
    """
    name, inputs = _name(request, agent_id), _inputs(body)
    turn = client_of(request).agents.messages.create_stream(
        agent_id=agent_id, messages=inputs, stream_tokens=bool(body.stream_tokens)
    )
    queue: _Handover = asyncio.Queue()
    task = asyncio.get_running_loop().create_task(_run(turn, queue))
    try:
        first = await queue.get()
        if isinstance(first, Exception):  # refused before any event: its own status, not a
            raise first  # stream cut short (bad messages 422, a busy agent 409, ...)
    except BaseException:
        await _stop(task)
        raise
    return StreamingResponse(
        _events(task, queue, first, name),
        media_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _run(turn: AsyncIterator[Message], queue: _Handover) -> None:
    """Run the turn in a task of its own, handing each message over; ``None``: it ended."""
    try:
        async for message in turn:
            queue.put_nowait(message)
        queue.put_nowait(None)
    except Exception as e:
        queue.put_nowait(e)


async def _events(
    task: asyncio.Task[None], queue: _Handover, first: Message | None, name: str
) -> AsyncIterator[str]:
    """The stream's events, from the turn's first message on, the turn running in ``task``.

    When the client goes away, the response is cancelled by a cancel scope, which cancels
    every await inside it again and again: a turn run inside it could not finish its own
    cleanup (its last commit, giving back its lease). Its task is cancelled once instead,
    the ordinary way, and waited for.
    """
    calls: list[Message] = []  # the tool calls so far: tool returns are named after them
    usage: Usage | None = None
    message: Message | Exception | None = first
    try:
        while message is not None:
            if isinstance(message, Exception):
                raise message
            if isinstance(message, UsageStatistics):
                usage = message
            else:
                calls.append(message)
                for item in messages_json(calls, name, streamed=True)[-1:]:
                    if item.get("id") == message.id:
                        yield _event(item)
            message = await queue.get()
        yield _event(usage_json(usage or Usage()))
        yield "data: [DONE]\n\n"
    finally:
        await _stop(task)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel the turn's task (a no-op if the turn is over) and wait for it to end."""
    task.cancel()
    with anyio.CancelScope(shield=True):
        await asyncio.wait([task])


def _event(item: JSON) -> str:
    return f"data: {json.dumps(item, ensure_ascii=False, separators=(',', ':'))}\n\n"


@router.get("/messages")
async def list_messages(
    request: Request,
    agent_id: str,
    limit: int = 10,
    before: str | None = None,
    after: str | None = None,
) -> list[JSON]:
    """``client.agents.messages.list(agent_id)``: the newest ``limit``, oldest first.

    ``before`` / ``after``: only messages older / newer than the message with that id.
    """
    if limit < 0:
        raise HTTPException(422, "limit must not be negative")
    name = _name(request, agent_id)
    messages = await client_of(request).agents.messages.list(agent_id=agent_id)
    ids = [m.id for m in messages]
    for cursor in (before, after):
        if cursor is not None and cursor not in ids:
            raise HTTPException(404, f"no message with id {cursor!r} in this agent's history")
    start = ids.index(after) + 1 if after is not None else 0
    end = ids.index(before) if before is not None else len(messages)
    while start < end and ids[start] == after:  # parts of one record share its id
        start += 1
    while end > start and before is not None and ids[end - 1] == before:
        end -= 1
    window = messages[start:end]
    window = (
        (window[:limit] if after is not None and before is None else window[-limit:])
        if limit
        else []
    )
    return messages_json(window, name)
