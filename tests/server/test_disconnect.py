"""A client that goes away mid-stream: the turn ends, its lease is given back, history holds.

The app is driven as uvicorn drives it (ASGI spec 2.3): after the first streamed event the
client disconnects while the model is still working on the next step.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent import AsyncClient, ModelRequest, ModelResponse
from agent.server import create_app
from agent.testing import FakeEmbedding, call, send


class SlowSecondStep:
    """``slow``: appends to memory, then never answers; anything else: ``send_message``."""

    name = "stand-in/slow"

    def __init__(self) -> None:
        self.stuck = asyncio.Event()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        newest = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
        steps = sum(1 for m in request.messages[newest:] if m["role"] == "assistant")
        if request.last_user_message != "slow":
            return send("ok")
        if steps == 0:
            return call("core_memory_append", label="human", content="Likes tea")
        self.stuck.set()
        await asyncio.Event().wait()  # a model call that would take forever
        raise AssertionError("unreachable")


async def request(
    app: Any, method: str, path: str, body: Any = None, *, leave: asyncio.Event | None = None
) -> tuple[int, bytes]:
    """One request to the ASGI app; with ``leave``, the client disconnects when it is set."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": method, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
        "root_path": "",
    }  # fmt: skip
    sent = [False]
    status, chunks = [0], []

    async def receive() -> dict[str, Any]:
        if not sent[0]:
            sent[0] = True
            data = b"" if body is None else json.dumps(body).encode()
            return {"type": "http.request", "body": data, "more_body": False}
        await (leave or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    async def send_(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message.get("body"):
            chunks.append(message["body"])

    await app(scope, receive, send_)
    return status[0], b"".join(chunks)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Any, AsyncClient, SlowSecondStep]]:
    model = SlowSecondStep()
    client = AsyncClient(":memory:", model=model, embedding=FakeEmbedding(), lease_wait=5)
    yield create_app(client), client, model
    client.close()


async def test_a_client_leaving_mid_stream_ends_the_turn_and_frees_the_agent(
    served: tuple[Any, AsyncClient, SlowSecondStep],
) -> None:
    app, client, model = served
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    path = f"/v1/agents/{agent.id}/messages"
    body = {"messages": [{"role": "user", "content": "slow"}]}
    leave = asyncio.Event()
    streaming = asyncio.create_task(request(app, "POST", path + "/stream", body, leave=leave))
    await model.stuck.wait()  # the first step is streamed; the second is waiting on the model
    leave.set()
    status, streamed = await asyncio.wait_for(streaming, 5)
    assert status == 200 and b'"message_type":"tool_call_message"' in streamed
    assert b"[DONE]" not in streamed
    held = client.store.db.execute("SELECT COUNT(*) FROM leases WHERE agent_id = ?", (agent.id,))
    assert held.fetchone()[0] == 0  # given back, not left to expire or to be taken over

    # the lease was given back: the next turn runs at once (it would wait 5 s and fail if not)
    hello = {"messages": [{"role": "user", "content": "hello"}]}
    status, answer = await asyncio.wait_for(request(app, "POST", path, hello), 2)
    assert status == 200, answer
    kinds = [m["message_type"] for m in json.loads(answer)["messages"]]
    assert kinds == ["assistant_message"]

    # the history is well formed: every tool call answered, the abandoned step not half-kept
    status, listed = await request(app, "GET", path + "?limit=100")
    history = json.loads(listed)
    calls = [m["tool_call"]["tool_call_id"] for m in history if "tool_call" in m]
    returns = [m["tool_call_id"] for m in history if m["message_type"] == "tool_return_message"]
    assert sorted(calls) == sorted(returns)
    kinds = [m["message_type"] for m in history]
    assert kinds[:3] == ["user_message", "tool_call_message", "tool_return_message"]
    assert kinds[-2:] == ["user_message", "assistant_message"]
    human = await client.agents.blocks.retrieve(agent.id, block_label="human")
    assert "Likes tea" in human.value  # the first step committed before the client left


async def test_a_stream_to_an_agent_busy_in_another_client_is_a_409(tmp_path: Path) -> None:
    # refused before its first event: a status of its own, not a 200 stream that then crashes
    model = SlowSecondStep()
    path = str(tmp_path / "busy.db")
    holder = AsyncClient(path, model=model, embedding=FakeEmbedding())
    client = AsyncClient(path, model=model, embedding=FakeEmbedding(), lease_wait=0.2)
    try:
        agent = await holder.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
        slow = [{"role": "user", "content": "slow"}]
        turn = holder.agents.messages.create(agent_id=agent.id, messages=slow)
        running = asyncio.create_task(turn)
        await asyncio.wait_for(model.stuck.wait(), 5)  # the holder's turn has the lease, stuck
        body = {"messages": [{"role": "user", "content": "hello"}]}
        status, answer = await asyncio.wait_for(
            request(create_app(client), "POST", f"/v1/agents/{agent.id}/messages/stream", body), 5
        )
        assert status == 409, answer
        assert "detail" in json.loads(answer)
        running.cancel()
        await asyncio.wait([running])
    finally:
        client.close()
        holder.close()
