"""Turns of one agent never interleave; different agents run at the same time.

On both backends (the ``database`` fixture): a SQLite file and a real PostgreSQL server.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from agent import AsyncClient, Client, ModelRequest, ModelResponse
from agent.testing import FunctionModel, ScriptedModel, call, send

MakeAsyncClient = Callable[..., AsyncClient]


def user(content: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


class Overlap:
    """A model that sleeps in every call and records how many calls run at once, per agent."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.active: dict[str, int] = defaultdict(int)
        self.most: dict[str, int] = defaultdict(int)
        self.active_total = 0
        self.most_total = 0
        self.model = FunctionModel(self.reply)

    async def reply(self, request: ModelRequest) -> ModelResponse:
        agent = request.messages[0]["content"].split("\n")[0]  # each agent's system prompt
        self.active[agent] += 1
        self.active_total += 1
        self.most[agent] = max(self.most[agent], self.active[agent])
        self.most_total = max(self.most_total, self.active_total)
        await asyncio.sleep(self.delay)
        self.active[agent] -= 1
        self.active_total -= 1
        if request.messages[-1]["role"] == "user":
            return call("core_memory_append", label="log", content=request.last_user_message)
        return send("ok")


async def test_turns_of_one_agent_never_interleave(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    overlap = Overlap()
    client = make_async_client(database, model=overlap.model)
    agent = await client.agents.create(
        system="agent-one", memory_blocks=[{"label": "log", "value": ""}]
    )
    await asyncio.gather(
        *(
            client.agents.messages.create(agent_id=agent.id, messages=user(f"m{i}"))
            for i in range(5)
        )
    )
    assert overlap.most["agent-one"] == 1
    # the stored history is five whole turns, one after another
    history = await client.agents.messages.list(agent_id=agent.id)
    kinds = [m.message_type for m in history]
    turn = ["user_message", "tool_call_message", "tool_return_message", "assistant_message"]
    assert kinds == turn * 5


async def test_different_agents_run_concurrently(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    overlap = Overlap(delay=0.03)
    client = make_async_client(database, model=overlap.model)
    agents = [
        await client.agents.create(system=f"agent-{i}", memory_blocks=[{"label": "log"}])
        for i in range(4)
    ]
    responses = await asyncio.gather(
        *(client.agents.messages.create(agent_id=a.id, messages=user("go")) for a in agents)
    )
    assert {r.stop_reason for r in responses} == {"end_turn"}
    assert overlap.most_total > 1
    assert all(overlap.most[f"agent-{i}"] == 1 for i in range(4))


async def test_fifty_concurrent_turns_lose_no_edit(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    path = database

    async def reply(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(0)
        if request.messages[-1]["role"] == "user":
            return call("core_memory_append", label="log", content=request.last_user_message)
        return send("ok")

    client = make_async_client(path, model=FunctionModel(reply))
    agent = await client.agents.create(memory_blocks=[{"label": "log", "value": ""}])
    lines = [f"line {i}" for i in range(50)]
    responses = await asyncio.gather(
        *(client.agents.messages.create(agent_id=agent.id, messages=user(x)) for x in lines)
    )
    assert {r.stop_reason for r in responses} == {"end_turn"}
    log = await client.agents.blocks.retrieve(agent.id, block_label="log")
    assert sorted(log.value.split("\n")) == sorted(lines)
    client.close()

    reopened = make_async_client(path, model=ScriptedModel())
    log = await reopened.agents.blocks.retrieve(agent.id, block_label="log")
    assert sorted(log.value.split("\n")) == sorted(lines)


async def test_developer_edits_never_wait_for_the_running_turn_nor_get_overwritten(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    seen: list[str] = []

    async def reply(request: ModelRequest) -> ModelResponse:
        seen.append(request.messages[0]["content"])
        if request.messages[-1]["role"] == "user":
            started.set()
            await release.wait()
            return call("core_memory_append", label="log", content="from the turn")
        return send("ok")

    client = make_async_client(database, model=FunctionModel(reply))
    agent = await client.agents.create(memory_blocks=[{"label": "log", "value": "start"}])
    turn = asyncio.create_task(
        client.agents.messages.create(agent_id=agent.id, messages=user("go"))
    )
    await started.wait()
    # the developer's edit lands at once, while the model call is still running
    await client.agents.blocks.modify(agent.id, block_label="log", value="developer")
    assert not turn.done()
    release.set()
    await turn
    # the turn's append, made to the stale "start", was re-applied to the fresh value
    log = await client.agents.blocks.retrieve(agent.id, block_label="log")
    assert log.value == "developer\nfrom the turn"
    assert "developer\nfrom the turn" in seen[-1]  # and the next request saw it


# -- the sync client inside a running event loop (Jupyter) -------------------------------


async def test_sync_client_works_inside_a_running_event_loop(
    make_client: Callable[..., Client], database: str
) -> None:
    asyncio.get_running_loop()  # we are inside one
    model = ScriptedModel(
        [call("core_memory_append", label="human", content="Likes tea."), send("Hi!"), send("2")]
    )
    client = make_client(database, model=model)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    response = client.agents.messages.create(agent_id=agent.id, messages=user("hi"))
    assert response.stop_reason == "end_turn"
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value.endswith("tea.")
    streamed = list(client.agents.messages.create_stream(agent_id=agent.id, messages=user("x")))
    assert [m.message_type for m in streamed] == [
        "assistant_message",
        "usage_statistics",
        "stop_reason",
    ]
    assert [a.id for a in client.agents.list()] == [agent.id]
