"""Changing an agent: model, embedding, steps, window and eviction settings, and a reset.

A change made by one client reaches another client that is running the agent at its next
model call: the model, window and embedder follow the stored names. Every test runs on both
backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

import asyncio
from typing import Any

import pytest

from agent import AsyncClient, ConfigError, ModelRequest, ModelResponse, NotFoundError
from agent.testing import FakeEmbedding, FunctionModel, send

pytestmark = pytest.mark.usefixtures("database")


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def answer(request: ModelRequest) -> ModelResponse:
    """``send_message`` for a turn; a text for the summarizer (it offers no tools)."""
    return send("ok") if request.tools else ModelResponse("They talked.")


async def test_a_new_model_reaches_a_running_client(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    mini = FunctionModel(answer, name="openai/gpt-4o-mini")
    with_object = AsyncClient(database)
    other = AsyncClient(database)
    try:
        agent = await with_object.agents.create(model=mini)
        await with_object.agents.messages.create(agent_id=agent.id, messages=user())
        assert len(mini.requests) == 1

        changed = await other.agents.modify(agent.id, model="openai/gpt-4")
        assert changed.model == "openai/gpt-4"
        window = await with_object.agents.context.retrieve(agent.id)
        assert window.context_window_limit == 8_192  # gpt-4's window, not gpt-4o-mini's
        failed = await with_object.agents.messages.create(agent_id=agent.id, messages=user())
        assert "'openai/gpt-4': no API key" in str(failed.messages)  # the real gpt-4 now

        await other.agents.modify(agent.id, model="openai/gpt-4o-mini")
        await with_object.agents.messages.create(agent_id=agent.id, messages=user())
        assert len(mini.requests) == 2  # the object given for that name, once more
        window = await with_object.agents.context.retrieve(agent.id)
        assert window.context_window_limit == 128_000
    finally:
        with_object.close()
        other.close()


async def test_a_smaller_window_evicts_at_the_next_request(database: str) -> None:
    model = FunctionModel(answer)
    running = AsyncClient(database, model=model)
    other = AsyncClient(database, model=model)
    try:
        agent = await running.agents.create(context_window_limit=40_000)
        for _ in range(3):
            text = "lorem ipsum dolor " * 400  # about 1200 tokens
            await running.agents.messages.create(agent_id=agent.id, messages=user(text))
        assert "Summary" not in str(model.requests[-1].messages[1]["content"])

        await other.agents.modify(agent.id, context_window_limit=4_000)
        await running.agents.messages.create(agent_id=agent.id, messages=user())
        request = next(r for r in reversed(model.requests) if r.tools)
        assert request.messages[1]["content"].startswith("Summary of the")
        assert (await running.agents.context.retrieve(agent.id)).context_window_limit == 4_000
    finally:
        running.close()
        other.close()


async def test_max_steps_and_context_settings(make_async_client: Any) -> None:
    model = FunctionModel(lambda request: send("ok"))
    client = make_async_client(model=model)
    agent = await client.agents.create()
    changed = await client.agents.modify(
        agent.id, max_steps=3, context={"evict_at": 0.8, "evict_to": 0.4, "warn_at": 0.6}
    )
    assert changed.max_steps == 3
    assert (changed.context.evict_at, changed.context.evict_to) == (0.8, 0.4)
    again = await client.agents.modify(agent.id, name="renamed")
    assert (again.max_steps, again.context.evict_at) == (3, 0.8)  # unchanged when not given


async def test_every_problem_at_once(make_async_client: Any) -> None:
    client = make_async_client()
    agent = await client.agents.create(model=FunctionModel(answer, name="openai/gpt-4o-mini"))
    with pytest.raises(ConfigError) as raised:
        await client.agents.modify(
            agent.id,
            model="openai/",
            embedding="nope/x",
            max_steps=0,
            context_window_limit=10,
            context={"evict_at": 2},
            tools=["no_such_tool"],
        )
    text = str(raised.value)
    for expected in (
        "unknown model 'openai/'",
        "'nope/x'",
        "max_steps must be at least 1, got 0",
        "context_window_limit must be at least 256, got 10",
        "context: evict_at",
        "no_such_tool",
    ):
        assert expected in text
    assert (await client.agents.retrieve(agent.id)).model == "openai/gpt-4o-mini"  # unchanged


async def test_unknown_model_refused(make_async_client: Any) -> None:
    client = make_async_client()
    agent = await client.agents.create(model=FunctionModel(answer, name="openai/gpt-4o-mini"))
    with pytest.raises(ConfigError, match=r"unknown model 'anthropic/claude'"):
        await client.agents.modify(agent.id, model="anthropic/claude")


async def test_a_model_object_is_used_by_this_client(make_async_client: Any) -> None:
    client = make_async_client()
    first = FunctionModel(answer, name="first")
    second = FunctionModel(answer, name="second")
    agent = await client.agents.create(model=first)
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert (await client.agents.modify(agent.id, model=second)).model == "second"
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert (len(first.requests), len(second.requests)) == (1, 1)


async def test_embedding_changes_follow_the_archive(database: str) -> None:
    client = AsyncClient(database)
    try:
        agent = await client.agents.create(
            model=FunctionModel(answer, name="openai/gpt-4o-mini"), embedding=FakeEmbedding()
        )
        small = "openai/text-embedding-3-small"
        assert (await client.agents.modify(agent.id, embedding=small)).embedding == small
        # the string names a real model (not called yet); swap back to the object for vectors
        await client.agents.modify(agent.id, embedding=FakeEmbedding())
        await client.agents.passages.create(agent_id=agent.id, text="Bob likes tea")
        with pytest.raises(ConfigError, match="1 passages embedded with 'fake/hashed-words'"):
            await client.agents.modify(agent.id, embedding="openai/text-embedding-3-large")
    finally:
        client.close()


async def test_reset_starts_a_fresh_conversation(database: str) -> None:
    model = FunctionModel(answer)
    running = AsyncClient(database, model=model)
    other = AsyncClient(database, model=model)
    try:
        agent = await running.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
        await running.agents.messages.create(agent_id=agent.id, messages=user("my cat is Miso"))
        before = await running.agents.messages.list(agent_id=agent.id)

        state = await other.agents.messages.reset(agent.id)
        assert state.memory.get_block("human").value == "Bob"  # memory stays
        window = await other.agents.context.retrieve(agent.id)
        assert (window.messages_in_context, window.summary) == (0, "")
        assert await other.agents.messages.list(agent_id=agent.id) == before  # still stored

        await running.agents.messages.create(agent_id=agent.id, messages=user("hello"))
        sent = [m["content"] for m in model.requests[-1].messages if m["role"] == "user"]
        assert sent == ["hello"]  # the running client started afresh too
        recall = (await running.agents.retrieve(agent.id)).recall
        assert recall is not None
        assert "Miso" in str(await recall.search("cat Miso"))  # recall still finds them
    finally:
        running.close()
        other.close()


async def test_reset_waits_for_a_running_turn(make_async_client: Any) -> None:
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(request: ModelRequest) -> ModelResponse:
        started.set()
        await finish.wait()
        return send("done")

    client = make_async_client(model=FunctionModel(slow))
    agent = await client.agents.create()
    turn = asyncio.create_task(client.agents.messages.create(agent_id=agent.id, messages=user()))
    await started.wait()
    reset = asyncio.create_task(client.agents.messages.reset(agent.id))
    await asyncio.sleep(0)
    assert not reset.done()  # waits for the turn, never interleaves with it
    finish.set()
    await turn
    await reset
    window = await client.agents.context.retrieve(agent.id)
    assert window.messages_in_context == 0
    assert len(await client.agents.messages.list(agent_id=agent.id)) >= 2


async def test_reset_unknown_agent(make_async_client: Any) -> None:
    with pytest.raises(NotFoundError, match="agent-nope"):
        await make_async_client().agents.messages.reset("agent-nope")
