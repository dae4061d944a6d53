"""Storage: everything survives reopening the database, and a step commits atomically.

The tests run on both backends (the ``database`` fixture), reopening the same SQLite file or
PostgreSQL schema; those about SQLite's file itself (permissions, WAL, a foreign file) are
SQLite's alone.
"""

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _raw import is_postgres, raw_sql

from agent import AgentState, AsyncClient, Client, ConfigError, ModelRequest, ModelResponse
from agent.testing import FunctionModel, ScriptedModel, call, calls, send

MakeClient = Callable[..., Client]


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def get_agent_id(agent_state: "AgentState"):  # the seed notebook's own tool
    """Query your agent ID field"""
    return agent_state.id


def assert_consistent(database: str) -> None:
    """The database is intact and every stored tool call has exactly one stored result."""
    if not is_postgres(database):
        assert raw_sql(database, "PRAGMA integrity_check") == [("ok",)]
    rows = raw_sql(database, "SELECT role, tool_calls, tool_call_id FROM messages ORDER BY seq")
    called = [c["tool_call_id"] for _, tc, _ in rows if tc for c in json.loads(tc)]
    answered = [tool_call_id for role, _, tool_call_id in rows if role == "tool"]
    assert sorted(called) == sorted(answered)


def assert_well_formed(request: ModelRequest) -> None:
    """Every tool call in the request is answered by exactly one tool message, right after."""
    pending: list[str] = []
    for message in request.messages:
        if message["role"] == "tool":
            assert message["tool_call_id"] in pending
            pending.remove(message["tool_call_id"])
            assert "interrupted" not in message["content"]
        else:
            assert not pending
            pending = [c["id"] for c in message.get("tool_calls", [])]
    assert not pending


def test_agents_blocks_messages_and_tools_survive_reopening(
    database: str, make_client: MakeClient
) -> None:
    first = make_client(
        database, model=ScriptedModel([call("core_memory_append", label="human", content="Tea.")])
    )
    first.async_client.model.extend([send("Noted.")])
    stored_tool = first.tools.upsert_from_function(func=get_agent_id)
    agent = first.agents.create(
        name="sam",
        system="You are Sam.",
        memory_blocks=[
            {"label": "human", "value": "Name: Bob", "limit": 100, "description": "The user"},
            {"label": "persona", "value": "I am Sam.", "read_only": True},
        ],
        tool_ids=[stored_tool.id],
        max_steps=7,
    )
    first.agents.messages.create(agent_id=agent.id, messages=user("I like tea"))
    blocks_before = first.agents.blocks.list(agent.id)
    history_before = first.agents.messages.list(agent_id=agent.id)
    first.close()

    second = make_client(database, model=ScriptedModel())
    (again,) = second.agents.list()
    assert (again.id, again.name, again.system, again.max_steps) == (
        agent.id,
        "sam",
        "You are Sam.",
        7,
    )
    assert again.created_at == agent.created_at
    assert [t.name for t in again.tools] == [
        "send_message",
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
        "get_agent_id",
    ]
    blocks = second.agents.blocks.list(agent.id)
    assert [b.model_dump() for b in blocks] == [b.model_dump() for b in blocks_before]
    assert blocks[0].value == "Name: Bob\nTea."
    assert (blocks[0].limit, blocks[0].description) == (100, "The user")
    assert blocks[1].read_only
    assert second.blocks.retrieve(blocks[0].id).value == "Name: Bob\nTea."
    history = second.agents.messages.list(agent_id=agent.id)
    assert [m.model_dump() for m in history] == [m.model_dump() for m in history_before]
    assert [m.message_type for m in history] == [
        "user_message",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
    assert [(t.id, t.name) for t in second.tools.list()] == [(stored_tool.id, "get_agent_id")]


def test_the_conversation_continues_after_a_restart(database: str, make_client: MakeClient) -> None:
    first = make_client(database, model=ScriptedModel([send("Hello Bob!")]))
    agent = first.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    first.agents.messages.create(agent_id=agent.id, messages=user("Hi, I am Bob"))
    first.close()

    model = ScriptedModel([send("You said you are Bob.")])
    second = make_client(database, model=model)
    response = second.agents.messages.create(agent_id=agent.id, messages=user("Who am I?"))
    assert response.stop_reason == "end_turn"
    (request,) = model.requests
    roles = [m["role"] for m in request.messages]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    assert request.messages[1]["content"] == "Hi, I am Bob"
    sent = request.messages[2]["tool_calls"][0]["function"]
    assert sent["name"] == "send_message"
    assert json.loads(sent["arguments"]) == {"message": "Hello Bob!"}
    assert request.messages[4]["content"] == "Who am I?"
    assert "Name: Bob" in request.messages[0]["content"]
    assert_well_formed(request)


def test_a_custom_tool_is_rebuilt_from_its_source_after_a_restart(
    database: str, make_client: MakeClient
) -> None:
    first = make_client(database, model=ScriptedModel())
    stored_tool = first.tools.upsert_from_function(func=get_agent_id)
    agent = first.agents.create(tool_ids=[stored_tool.id])
    first.close()

    second = make_client(database, model=ScriptedModel([call("get_agent_id"), send("ok")]))
    response = second.agents.messages.create(agent_id=agent.id, messages=user())
    result = next(m for m in response.messages if m.message_type == "tool_return_message")
    assert (result.status, result.tool_return) == ("success", agent.id)


def test_memory_edits_and_developer_edits_are_persisted(
    database: str, make_client: MakeClient
) -> None:
    first = make_client(
        database,
        model=ScriptedModel(
            [
                call("core_memory_replace", label="human", old_content="Bob", new_content="Al"),
                send("ok"),
            ]
        ),
    )
    agent = first.agents.create(
        memory_blocks=[
            {"label": "human", "value": "Name: Bob"},
            {"label": "persona", "value": "I am Sam.", "read_only": True},
        ]
    )
    first.agents.messages.create(agent_id=agent.id, messages=user())
    first.agents.blocks.modify(agent.id, block_label="persona", value="I am Samantha.")
    first.close()

    second = make_client(database, model=ScriptedModel())
    assert second.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Al"
    persona = second.agents.blocks.retrieve(agent.id, block_label="persona")
    assert (persona.value, persona.read_only) == ("I am Samantha.", True)


def test_a_deleted_agent_stays_deleted(database: str, make_client: MakeClient) -> None:
    first = make_client(database, model=ScriptedModel())
    keep = first.agents.create(name="keep")
    drop = first.agents.create(name="drop")
    first.agents.delete(drop.id)
    first.close()
    second = make_client(database, model=ScriptedModel())
    assert [a.id for a in second.agents.list()] == [keep.id]


# NUL, which PostgreSQL's text columns refuse, beside the characters its stand-in could clash with
ODD = "nul\x00here \ufffe \uffff \uffff\ufffe \ufffe\x00 end\x00"


def test_text_with_nul_characters_survives_reopening(
    database: str, make_client: MakeClient
) -> None:
    reply = call("core_memory_append", label="human", content=ODD)
    first = make_client(database, model=ScriptedModel([reply, send(ODD)]))
    agent = first.agents.create(
        system=ODD, memory_blocks=[{"label": "human", "value": ""}, {"label": "notes"}]
    )
    response = first.agents.messages.create(agent_id=agent.id, messages=user(ODD))
    assert response.stop_reason == "end_turn"
    first.agents.blocks.modify(agent.id, block_label="notes", value=ODD)
    first.agents.passages.create(agent_id=agent.id, text=ODD)
    first.close()

    second = make_client(database, model=ScriptedModel())
    assert second.agents.retrieve(agent.id).system == ODD
    history = second.agents.messages.list(agent_id=agent.id)
    assert (history[0].content, history[-1].content) == (ODD, ODD)
    assert [b.value for b in second.agents.blocks.list(agent.id)] == [ODD, ODD]
    assert [p.text for p in second.agents.passages.list(agent_id=agent.id)] == [ODD]


async def test_a_very_long_message_and_passage_are_stored_and_found(
    database: str, make_async_client: Callable[..., AsyncClient]
) -> None:
    # 760,000 characters of distinct words: more than PostgreSQL's 1 MB full-text value holds
    text = "stone " + " ".join(f"w{i}" for i in range(110_000))
    client = make_async_client(database, model=ScriptedModel([send("ok")]))
    agent = await client.agents.create(context_window_limit=2_000_000)
    await client.agents.passages.create(agent_id=agent.id, text=text)
    response = await client.agents.messages.create(agent_id=agent.id, messages=user(text))
    assert response.stop_reason == "end_turn"
    state = await client.agents.retrieve(agent.id)
    assert state.archival is not None and state.recall is not None
    assert [p.text for p in (await state.archival.search("stone")).results] == [text]
    assert [m.content for m in (await state.recall.search("stone")).results] == [text]


# -- crashes -----------------------------------------------------------------------------


def test_a_tool_that_edits_then_raises_leaves_memory_and_database_unchanged(
    database: str, make_client: MakeClient
) -> None:
    def scribble(agent_state: "AgentState") -> str:
        """Write to memory, then crash."""
        agent_state.memory.update_block_value("human", "GARBAGE")
        raise RuntimeError("crash")

    first = make_client(database, model=ScriptedModel([call("scribble"), send("sorry")]))
    stored_tool = first.tools.upsert_from_function(func=scribble)
    agent = first.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored_tool.id]
    )
    first.agents.messages.create(agent_id=agent.id, messages=user())
    assert first.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Bob"
    first.close()

    assert raw_sql(database, "SELECT value FROM blocks") == [("Name: Bob",)]
    second = make_client(database, model=ScriptedModel())
    assert second.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Bob"
    assert_consistent(database)


def test_closing_the_database_in_a_tool_leaves_it_consistent(
    database: str, make_client: MakeClient
) -> None:
    model = ScriptedModel()
    first = make_client(database, model=model)

    def pull_the_plug(agent_state: "AgentState") -> str:
        """Edit memory, then lose the database."""
        agent_state.memory.update_block_value("human", "Name: Bob\nHALF-WRITTEN")
        first.async_client.store.db.close()
        return "done"

    stored_tool = first.tools.upsert_from_function(func=pull_the_plug)
    agent = first.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored_tool.id]
    )
    model.extend(
        [
            call("core_memory_append", label="human", content="Likes tea."),  # step 1 commits
            calls(("pull_the_plug", {}), ("send_message", {"message": "bye"})),  # step 2 lost
        ]
    )
    response = first.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    assert response.messages[-1].message_type == "system_message"

    assert_consistent(database)
    model = ScriptedModel([send("hello again")])
    second = make_client(database, model=model)
    human = second.agents.blocks.retrieve(agent.id, block_label="human")
    assert human.value == "Name: Bob\nLikes tea."
    history = second.agents.messages.list(agent_id=agent.id)
    assert [m.message_type for m in history] == [
        "user_message",
        "tool_call_message",
        "tool_return_message",
    ]
    second.agents.messages.create(agent_id=agent.id, messages=user("still there?"))
    assert_well_formed(model.requests[0])
    assert "HALF-WRITTEN" not in model.requests[0].messages[0]["content"]


def test_closing_the_database_in_the_model_leaves_it_consistent(
    database: str, make_client: MakeClient
) -> None:
    clients: list[Client] = []

    def unplug(request: ModelRequest) -> ModelResponse:
        clients[0].async_client.store.db.close()
        return calls(
            ("core_memory_append", {"label": "human", "content": "HALF-WRITTEN"}),
            ("send_message", {"message": "bye"}),
        )

    first = make_client(database, model=FunctionModel(unplug))
    clients.append(first)
    agent = first.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    response = first.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"

    assert_consistent(database)
    second = make_client(database, model=ScriptedModel())
    assert second.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Bob"
    kinds = [m.message_type for m in second.agents.messages.list(agent_id=agent.id)]
    assert kinds == ["user_message"]


REFUSE_BLOCK_WRITES = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE UPDATE ON blocks BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
        "CREATE TRIGGER refuse BEFORE UPDATE ON blocks FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_a_step_commits_its_messages_and_memory_together(
    database: str, make_client: MakeClient
) -> None:
    model = ScriptedModel([call("core_memory_append", label="human", content="Likes tea.")])
    first = make_client(database, model=model)
    agent = first.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    # make the block write fail inside the step's transaction, after its messages were written
    for statement in REFUSE_BLOCK_WRITES["postgres" if is_postgres(database) else "sqlite"]:
        raw_sql(database, statement)
    response = first.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    assert "disk full" in response.messages[-1].content
    # the live agent was put back as well
    assert first.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Bob"
    first.close()

    raw_sql(database, "DROP TRIGGER refuse" + (" ON blocks" if is_postgres(database) else ""))
    assert_consistent(database)
    second = make_client(database, model=ScriptedModel())
    assert second.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Bob"
    kinds = [m.message_type for m in second.agents.messages.list(agent_id=agent.id)]
    assert kinds == ["user_message"]


# SQLite's file itself: its permissions, its WAL, a file that is not selfedit's (SQLite only)


def test_the_database_is_created_private(tmp_path: Path, make_client: MakeClient) -> None:
    path = tmp_path / "home" / "agents.db"
    client = make_client(path, model=ScriptedModel([send("hi")]))
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "secret"}])
    client.agents.messages.create(agent_id=agent.id, messages=user())
    files = [path, *path.parent.glob("agents.db-*")]
    assert len(files) == 3  # the database, its WAL and its shared-memory index
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o600)}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_foreign_database_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    before = path.read_bytes()
    with pytest.raises(
        ConfigError, match=r"is not a selfedit database \(it holds other tables: invoices\)"
    ):
        Client(path)
    assert path.read_bytes() == before
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database at all, just some text that is long enough" * 20)
    with pytest.raises(ConfigError, match="cannot be opened as a database"):
        Client(garbage)
