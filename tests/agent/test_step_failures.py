"""A step is all or nothing, and nothing the model, the caller or the disk does raises out of it.

One test per failure found by the fault probes of the "one agent, many clients" issue.
"""

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from agent import (
    AsyncClient,
    Client,
    ConfigError,
    ModelRequest,
    ModelResponse,
    ModelToolCall,
    OpenAIModel,
)
from agent.testing import FunctionModel, ScriptedModel, call, calls, send

MakeAsyncClient = Callable[..., AsyncClient]
MakeClient = Callable[..., Client]
LONE = "\ud800"


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def storable(value: Any) -> None:
    """Everything a response or a request holds can be encoded as UTF-8 JSON."""
    json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")


async def human(client: AsyncClient, agent_id: str) -> str:
    return (await client.agents.blocks.retrieve(agent_id, block_label="human")).value


# -- text that cannot be stored ----------------------------------------------------------


async def test_lone_surrogates_from_the_model_are_repaired_and_the_model_is_told(
    make_async_client: MakeAsyncClient, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [
            calls(
                ("core_memory_append", {"label": "human", "content": "likes tea"}),
                ("send_message", {"message": f"bye {LONE}"}),
                reasoning=f"thinking {LONE}",
            ),
            send("again"),
        ]
    )
    client = make_async_client(tmp_path / "db.sqlite", model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    said = [m for m in response.messages if m.message_type == "assistant_message"]
    assert said[0].content == "bye \ufffd"
    # the step's memory edit was committed with it (nothing stays live in memory alone)
    assert await human(client, agent.id) == "Bob\nlikes tea"
    storable([m.model_dump() for m in await client.agents.messages.list(agent_id=agent.id)])
    await client.agents.messages.create(agent_id=agent.id, messages=user("more"))
    notes = [m["content"] for m in model.requests[1].messages if m["role"] == "system"]
    assert any("cannot be stored" in n and "U+FFFD" in n for n in notes)
    storable(model.requests[1].messages)


async def test_escaped_surrogates_in_tool_arguments_are_repaired_before_the_tool_runs(
    make_async_client: MakeAsyncClient,
) -> None:
    raw = '{"label": "human", "content": "x\\ud800y"}'  # valid JSON that decodes to a surrogate
    model = ScriptedModel([call("core_memory_append", raw), send("ok")])
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert await human(client, agent.id) == "Bob\nx\ufffdy"


async def test_lone_surrogates_through_the_real_openai_client(
    make_async_client: MakeAsyncClient,
) -> None:
    def completion(message: dict[str, Any]) -> bytes:
        body = {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \ud800

    requests: list[bytes] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        requests.append(request.content)
        arguments = json.dumps({"message": f"hi {LONE}"})
        reply = {
            "role": "assistant",
            "content": f"reasoning {LONE}",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "send_message", "arguments": arguments},
                }
            ],
        }
        return httpx2.Response(200, content=completion(reply))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handle))
    model = OpenAIModel("openai/gpt-4o-mini", http_client=http, api_key="test")
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    for _ in range(2):  # the second request carries the first turn's (repaired) history
        response = await client.agents.messages.create(agent_id=agent.id, messages=user())
        assert response.stop_reason == "end_turn"
        assert response.messages[-1].content == "hi \ufffd"
    assert LONE not in requests[1].decode("utf-8")


async def test_a_developer_value_that_cannot_be_stored_is_refused_and_poisons_nothing(
    make_async_client: MakeAsyncClient,
) -> None:
    model = ScriptedModel([send("fine")])
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    with pytest.raises(ConfigError, match=r"value holds an unpaired surrogate \(U\+D800\)"):
        await client.agents.blocks.modify(agent.id, block_label="human", value=f"x{LONE}")
    assert await human(client, agent.id) == "Bob"
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"  # every later turn still works


async def test_api_input_that_cannot_be_stored_names_each_field(
    make_async_client: MakeAsyncClient,
) -> None:
    client = make_async_client(model=ScriptedModel())
    with pytest.raises(ConfigError) as raised:
        await client.agents.create(
            name=f"a{LONE}", memory_blocks=[{"label": "human", "value": LONE}]
        )
    assert "name holds an unpaired surrogate" in str(raised.value)
    assert "memory block 0 ('human')" in str(raised.value)
    assert await client.agents.list() == []
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    with pytest.raises(ConfigError, match=r"messages\[1\]\.content holds an unpaired"):
        await client.agents.messages.create(
            agent_id=agent.id,
            messages=[{"role": "user", "content": "ok"}, {"role": "user", "content": LONE}],
        )
    with pytest.raises(ConfigError, match="text holds an unpaired"):
        await client.agents.passages.create(agent_id=agent.id, text=LONE)
    assert await client.agents.messages.list(agent_id=agent.id) == []


async def test_a_tool_writing_unstorable_text_gets_a_tool_error_and_memory_is_unchanged(
    make_async_client: MakeAsyncClient,
) -> None:
    def scribble(agent_state: "AgentState") -> str:  # noqa: F821
        """Write a lone surrogate to memory."""
        agent_state.memory.update_block_value("human", "\ud800")
        return "done"

    def shout(agent_state: "AgentState") -> str:  # noqa: F821
        """Return a lone surrogate."""
        return "loud \ud800"

    model = ScriptedModel([calls(("scribble", {}), ("shout", {})), send("ok")])
    client = make_async_client(model=model)
    tool_ids = [(await client.tools.upsert_from_function(func=f)).id for f in (scribble, shout)]
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Bob"}], tool_ids=tool_ids
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert returns[0].status == "error" and "cannot be stored" in returns[0].tool_return
    assert returns[1].status == "success" and returns[1].tool_return == "loud \ufffd"
    assert await human(client, agent.id) == "Bob"


# -- arguments no JSON library should choke on -------------------------------------------


@pytest.mark.parametrize("tool", ["send_message", "core_memory_append"])
async def test_arguments_nested_ten_thousand_deep_are_a_tool_error(
    make_async_client: MakeAsyncClient, tool: str
) -> None:
    deep = '{"message": ' + "[" * 10_000 + "]" * 10_000 + "}"
    model = ScriptedModel([call(tool, deep), send("ok")])
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert returns[0].status == "error"
    assert await human(client, agent.id) == "Bob"


async def test_nan_in_arguments_is_a_tool_error(make_async_client: MakeAsyncClient) -> None:
    model = ScriptedModel(
        [call("core_memory_append", '{"label": "human", "content": NaN}'), send("ok")]
    )
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    assert returns[0].status == "error"


async def test_duplicate_tool_call_ids_get_unique_ones_with_one_result_each(
    make_async_client: MakeAsyncClient,
) -> None:
    twice = ModelResponse(
        tool_calls=[
            ModelToolCall("core_memory_append", '{"label": "human", "content": "a"}', "dup"),
            ModelToolCall("core_memory_append", '{"label": "human", "content": "b"}', "dup"),
            ModelToolCall("core_memory_append", '{"label": "human", "content": "c"}', ""),
        ]
    )
    model = ScriptedModel([twice, send("ok")])
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    sent = model.requests[1].messages
    ids = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert len(ids) == 3 and len(set(ids)) == 3 and ids[0] == "dup"
    assert answered == ids
    assert await human(client, agent.id) == "Bob\na\nb\nc"


# -- a step that fails writes nothing ---------------------------------------------------


async def test_an_archival_insert_of_a_step_that_fails_is_not_saved(
    make_async_client: MakeAsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "db.sqlite"

    def lose_the_lease(agent_state: "AgentState") -> str:  # noqa: F821
        """Make this turn lose its lease, as if it had stalled and another turn took over."""
        import sqlite3

        with sqlite3.connect(path) as db:
            db.execute("UPDATE leases SET owner = 'someone-else'")
        return "done"

    model = ScriptedModel(
        [
            calls(
                ("archival_memory_insert", {"content": "orphan?"}),
                ("core_memory_append", {"label": "human", "content": "edit"}),
                ("lose_the_lease", {}),
            ),
            send("next turn"),
        ]
    )
    client = make_async_client(path, model=model)
    tool = await client.tools.upsert_from_function(func=lose_the_lease)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Bob"}], tool_ids=[tool.id]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    assert "lost its lease" in response.messages[-1].content
    assert await client.agents.passages.list(agent_id=agent.id) == []
    assert await human(client, agent.id) == "Bob"
    kinds = [m.message_type for m in await client.agents.messages.list(agent_id=agent.id)]
    assert kinds == ["user_message"]
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM leases")  # the other "turn" is over
    response = await client.agents.messages.create(agent_id=agent.id, messages=user("again"))
    assert response.stop_reason == "end_turn"  # the agent stays usable


async def test_any_exception_while_saving_ends_the_turn_with_error(
    make_async_client: MakeAsyncClient,
) -> None:
    model = ScriptedModel([call("core_memory_append", label="human", content="x")])
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    store = client.store
    original = store.add_messages
    failures = [MemoryError("out of memory while writing")]

    def flaky(agent_id: str, records: list[Any]) -> None:
        if len(records) > 1 and failures:  # the step's records, not the user message
            raise failures.pop()
        original(agent_id, records)

    store.add_messages = flaky  # type: ignore[method-assign]
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    assert "MemoryError" in response.messages[-1].content
    assert await human(client, agent.id) == "Bob"
    model.extend([call("core_memory_append", label="human", content="y"), send("ok")])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert await human(client, agent.id) == "Bob\ny"


# -- a full database -------------------------------------------------------------------


def appender(request: ModelRequest) -> ModelResponse:
    if request.messages[-1]["role"] == "user":
        return call("core_memory_append", label="human", content=request.last_user_message[:20])
    return send("ok")


def test_a_full_database_ends_every_turn_cleanly_and_recovers(
    make_client: MakeClient, tmp_path: Path
) -> None:
    client = make_client(tmp_path / "db.sqlite", model=FunctionModel(appender))
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "", "limit": 10**6}])
    assert client.agents.messages.create(agent_id=agent.id, messages=user("one")).stop_reason == (
        "end_turn"
    )
    db = client.async_client.store.db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    for i in range(3):  # every time, not only the first
        big = f"turn {i} " + "x" * 50_000
        response = client.agents.messages.create(agent_id=agent.id, messages=user(big))
        assert response.stop_reason == "error"
        assert "full" in response.messages[-1].content
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "one"
    db.execute("PRAGMA max_page_count = 1073741823")  # space is back
    response = client.agents.messages.create(agent_id=agent.id, messages=user("two"))
    assert response.stop_reason == "end_turn"
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "one\ntwo"
    kinds = [m.message_type for m in client.agents.messages.list(agent_id=agent.id)]
    turn = ["user_message", "tool_call_message", "tool_return_message", "assistant_message"]
    assert kinds == turn * 2


# -- the lease outlives a slow step -------------------------------------------------------


async def test_a_turn_slower_than_its_lease_keeps_it_by_renewing(tmp_path: Path) -> None:
    order: list[str] = []

    async def slow(request: ModelRequest) -> ModelResponse:
        said = str(request.last_user_message)
        order.append(f"start {said}")
        await asyncio.sleep(0.6)  # twice the lease's lifetime
        order.append(f"end {said}")
        return send("done")

    path = tmp_path / "db.sqlite"
    first = AsyncClient(path, model=FunctionModel(slow), lease_ttl=0.3)
    second = AsyncClient(path, model=FunctionModel(slow), lease_ttl=0.3, lease_wait=5)
    agent = await first.agents.create()
    one = asyncio.create_task(first.agents.messages.create(agent_id=agent.id, messages=user("a")))
    await asyncio.sleep(0.05)
    two = await second.agents.messages.create(agent_id=agent.id, messages=user("b"))
    assert (await one).stop_reason == "end_turn"
    assert two.stop_reason == "end_turn"
    assert order == ["start a", "end a", "start b", "end b"]
    first.close()
    second.close()


async def test_closing_a_client_gives_back_the_lease_of_a_turn_it_abandoned(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    first = AsyncClient(path, model=ScriptedModel([send("one"), send("two")]))
    agent = await first.agents.create()
    stream = first.agents.messages.create_stream(agent_id=agent.id, messages=user())
    await anext(stream)  # the turn holds the lease, and is never finished nor closed
    first.close()
    second = AsyncClient(path, model=ScriptedModel([send("hi")]), lease_wait=0.2)
    response = await second.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"  # same process, live pid: only close frees it
    second.close()
    await stream.aclose()


async def test_archival_inserts_of_a_step_commit_with_it_and_see_each_other(
    make_async_client: MakeAsyncClient,
) -> None:
    model = ScriptedModel(
        [
            calls(
                ("archival_memory_insert", {"content": "bob loves cats"}),
                ("archival_memory_insert", {"content": "bob loves cats"}),
                ("archival_memory_insert", {"content": "bob has a dog"}),
            ),
            send("saved"),
        ]
    )
    client = make_async_client(model=model)
    agent = await client.agents.create()
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    returns = [m.tool_return for m in response.messages if m.message_type == "tool_return_message"]
    assert "already" in returns[1].lower() and "already" not in returns[0].lower()
    texts = [p.text for p in await client.agents.passages.list(agent_id=agent.id)]
    assert texts == ["bob loves cats", "bob has a dog"]
