"""The client API: agents, messages, blocks, core memory and tools, sync and async.

Every test runs on both backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

import threading
from collections.abc import Callable
from typing import Any

import pytest

from agent import (
    AgentState,
    AssistantMessage,
    AsyncClient,
    Block,
    BlockError,
    Client,
    ConfigError,
    Memory,
    NotFoundError,
    Response,
    StopReason,
    UsageStatistics,
)
from agent.testing import ScriptedModel, call, send

MakeClient = Callable[..., Client]
MakeAsyncClient = Callable[..., AsyncClient]

pytestmark = pytest.mark.usefixtures("database")


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def get_agent_id(agent_state: "AgentState"):  # exactly as the seed notebook
    """Query your agent ID field"""
    return agent_state.id


# -- agents.create -----------------------------------------------------------------------


def test_create_with_defaults(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create()
    assert isinstance(agent, AgentState)
    assert agent.id
    assert agent.name
    assert agent.system
    assert agent.embedding is None
    assert agent.max_steps == 20
    assert [t.name for t in agent.tools] == [
        "send_message",
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    ]
    assert len(agent.memory) == 0


def test_create_with_everything(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create(
        name="sam",
        memory_blocks=[
            {"label": "human", "value": "Name: Bob", "limit": 50, "description": "The user"},
            {"label": "persona", "value": "I am Sam.", "read_only": True},
            Block(label="notes"),
        ],
        model="openai/gpt-4o",
        embedding="openai/text-embedding-3-small",
        system="You are Sam.",
        max_steps=5,
    )
    assert (agent.name, agent.system, agent.model, agent.max_steps) == (
        "sam",
        "You are Sam.",
        "openai/gpt-4o",
        5,
    )
    assert agent.embedding == "openai/text-embedding-3-small"
    human, persona, notes = agent.memory.blocks
    assert (human.label, human.value, human.limit, human.description) == (
        "human",
        "Name: Bob",
        50,
        "The user",
    )
    assert persona.read_only
    assert notes.label == "notes"


def test_create_with_tools_by_name_and_without_base_tools(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    client.tools.upsert_from_function(func=get_agent_id)
    agent = client.agents.create(tools=["send_message", "get_agent_id"], include_base_tools=False)
    assert [t.name for t in agent.tools] == ["send_message", "get_agent_id"]


def test_unknown_tool_name_is_a_config_error(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError, match="fly_to_the_moon"):
        client.agents.create(tools=["fly_to_the_moon"])
    assert client.agents.list() == []


def test_unknown_tool_id_is_a_config_error(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError, match="tool-does-not-exist"):
        client.agents.create(tool_ids=["tool-does-not-exist"])


@pytest.mark.parametrize("label", ["Human", "my-notes", "1st", ""])
def test_bad_block_label_is_a_config_error(make_client: MakeClient, label: str) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError, match="label"):
        client.agents.create(memory_blocks=[{"label": label, "value": "x"}])
    assert client.agents.list() == []


def test_block_value_over_its_limit_is_a_config_error(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError, match="limit"):
        client.agents.create(memory_blocks=[{"label": "human", "value": "x" * 11, "limit": 10}])


def test_every_configuration_problem_is_reported_at_once(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError) as info:
        client.agents.create(
            memory_blocks=[{"label": "Bad Label"}, {"label": "a"}, {"label": "a"}],
            tools=["nope"],
            max_steps=0,
        )
    message = str(info.value)
    for needle in ["Bad Label", "'a'", "nope", "max_steps"]:
        assert needle in message
    assert len(info.value.problems) == 4


def test_limits_past_32_bits_are_stored(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    big = 2**40
    agent = client.agents.create(memory_blocks=[{"label": "human", "limit": big}], max_steps=big)
    reopened = make_client(model=ScriptedModel())  # the same database, read afresh
    assert reopened.agents.retrieve(agent.id).max_steps == big
    assert reopened.agents.blocks.retrieve(agent.id, block_label="human").limit == big


def test_limits_past_64_bits_are_refused(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())  # no store could hold them
    big = 2**63
    with pytest.raises(ConfigError, match="max_steps must be at most"):
        client.agents.create(max_steps=big)
    with pytest.raises(ConfigError, match="9223372036854775807"):
        client.agents.create(memory_blocks=[{"label": "human", "limit": big}])
    with pytest.raises(ConfigError, match="9223372036854775807"):
        client.blocks.create(label="notes", value="x", limit=big)
    assert client.agents.list() == []


# -- agents.list / retrieve / delete -----------------------------------------------------


def test_list_retrieve_delete(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    one = client.agents.create(name="one")
    two = client.agents.create(name="two")
    assert [a.id for a in client.agents.list()] == [one.id, two.id]
    assert client.agents.retrieve(two.id).name == "two"
    client.agents.delete(one.id)
    assert [a.id for a in client.agents.list()] == [two.id]
    with pytest.raises(NotFoundError, match=one.id):
        client.agents.retrieve(one.id)
    with pytest.raises(NotFoundError):
        client.agents.messages.create(agent_id=one.id, messages=user())


def test_deleting_an_agent_deletes_its_own_blocks(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}])
    block_id = agent.memory.get_block("human").id
    client.agents.delete(agent.id)
    with pytest.raises(NotFoundError):
        client.blocks.retrieve(block_id)


# -- messages ----------------------------------------------------------------------------


def test_messages_create_returns_a_response(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel([send("Hello!")]))
    agent = client.agents.create()
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    assert isinstance(response, Response)
    assert response.stop_reason == "end_turn"
    (reply,) = response.messages
    assert isinstance(reply, AssistantMessage)
    assert reply.content == "Hello!"
    assert response.usage.step_count == 1
    assert response.usage.total_tokens == 15


def test_messages_list_holds_the_whole_conversation(make_client: MakeClient) -> None:
    model = ScriptedModel(
        [
            call("core_memory_append", label="human", content="Likes tea."),
            send("Noted."),
            send("Bye!"),
        ]
    )
    client = make_client(model=model)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": ""}])
    client.agents.messages.create(agent_id=agent.id, messages=user("I like tea"))
    client.agents.messages.create(agent_id=agent.id, messages=user("bye"))
    history = client.agents.messages.list(agent_id=agent.id)
    assert [m.message_type for m in history] == [
        "user_message",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
        "user_message",
        "assistant_message",
    ]
    assert history[0].content == "I like tea"
    assert history[3].content == "Noted."
    assert history[-1].content == "Bye!"
    # the second turn's request carried the first turn
    assert [m["role"] for m in model.requests[2].messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "user",
    ]


def test_only_user_messages_are_accepted(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create()
    with pytest.raises(ConfigError, match="assistant"):
        client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "assistant", "content": "x"}]
        )


def test_sync_stream_yields_messages_then_usage_then_stop(make_client: MakeClient) -> None:
    client = make_client(
        model=ScriptedModel(
            [call("core_memory_append", label="human", content="x"), send("Done.", reasoning="r")]
        )
    )
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": ""}])
    stream = client.agents.messages.create_stream(agent_id=agent.id, messages=user())
    items = list(stream)
    assert [m.message_type for m in items] == [
        "tool_call_message",
        "tool_return_message",
        "reasoning_message",
        "assistant_message",
        "usage_statistics",
        "stop_reason",
    ]
    usage, stop = items[-2], items[-1]
    assert isinstance(usage, UsageStatistics)
    assert usage.step_count == 2
    assert isinstance(stop, StopReason)
    assert stop.stop_reason == "end_turn"


async def test_async_stream_yields_messages_then_usage_then_stop(
    make_async_client: MakeAsyncClient,
) -> None:
    client = make_async_client(model=ScriptedModel([send("Hi.")]))
    agent = await client.agents.create()
    items = [
        m async for m in client.agents.messages.create_stream(agent_id=agent.id, messages=user())
    ]
    assert [m.message_type for m in items] == [
        "assistant_message",
        "usage_statistics",
        "stop_reason",
    ]


# -- blocks and core memory --------------------------------------------------------------


def test_agent_blocks_list_retrieve_modify(make_client: MakeClient) -> None:
    model = ScriptedModel([send("ok")])
    client = make_client(model=model)
    agent = client.agents.create(
        memory_blocks=[
            {"label": "human", "value": "Name: Bob", "limit": 30},
            {"label": "persona", "value": "I am Sam.", "read_only": True},
        ]
    )
    assert [b.label for b in client.agents.blocks.list(agent.id)] == ["human", "persona"]
    human = client.agents.blocks.retrieve(agent.id, block_label="human")
    assert human.value == "Name: Bob"
    changed = client.agents.blocks.modify(agent.id, block_label="human", value="Name: Alice")
    assert changed.value == "Name: Alice"
    # the developer may change read-only blocks
    client.agents.blocks.modify(agent.id, block_label="persona", value="I am Samantha.")
    assert client.blocks.retrieve(human.id).value == "Name: Alice"
    client.agents.messages.create(agent_id=agent.id, messages=user())
    prompt = model.requests[0].messages[0]["content"]
    assert "Name: Alice" in prompt
    assert "I am Samantha." in prompt


def test_modify_over_the_limit_is_refused(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Bob", "limit": 5}])
    with pytest.raises(BlockError, match="limit of 5"):
        client.agents.blocks.modify(agent.id, block_label="human", value="Alice Smith")
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "Bob"


def test_unknown_block_label_is_not_found(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create(memory_blocks=[{"label": "human"}])
    with pytest.raises(NotFoundError, match="pet"):
        client.agents.blocks.retrieve(agent.id, block_label="pet")
    with pytest.raises(NotFoundError):
        client.blocks.retrieve("block-nope")


def test_core_memory_retrieve(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}, {"label": "persona"}]
    )
    memory = client.agents.core_memory.retrieve(agent_id=agent.id)
    assert isinstance(memory, Memory)
    assert isinstance(memory.prompt_template, str)
    assert [b.label for b in memory.blocks] == ["human", "persona"]
    assert memory.get_block("human").value == "Name: Bob"
    assert "Name: Bob" in memory.compile()


def test_a_shared_block_is_seen_by_both_agents(make_client: MakeClient) -> None:
    model = ScriptedModel(
        [call("core_memory_append", label="team", content="Ship on Friday."), send("ok")]
    )
    client = make_client(model=model)
    team = Block(label="team", value="Team notes.")
    writer = client.agents.create(memory_blocks=[team])
    reader = client.agents.create(memory_blocks=[team])
    client.agents.messages.create(agent_id=writer.id, messages=user())
    seen = client.agents.blocks.retrieve(reader.id, block_label="team").value
    assert seen == "Team notes.\nShip on Friday."


# -- tools -------------------------------------------------------------------------------


def test_upsert_from_function_and_list(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    stored = client.tools.upsert_from_function(func=get_agent_id)
    assert stored.name == "get_agent_id"
    assert stored.id
    again = client.tools.upsert_from_function(func=get_agent_id)
    assert again.id == stored.id
    assert [(t.id, t.name) for t in client.tools.list()] == [(stored.id, "get_agent_id")]


def test_seed_notebook_get_agent_id(make_client: MakeClient) -> None:
    model = ScriptedModel([call("get_agent_id"), send("done")])
    client = make_client(model=model)
    stored = client.tools.upsert_from_function(func=get_agent_id)
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored.id]
    )
    assert "get_agent_id" in [t.name for t in agent.tools]
    schema = next(
        t for t in model_tools(client, agent.id) if t["function"]["name"] == "get_agent_id"
    )
    assert "agent_state" not in str(schema)
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    result = next(m for m in response.messages if m.message_type == "tool_return_message")
    assert (result.status, result.tool_return) == ("success", agent.id)


def model_tools(client: Client, agent_id: str) -> list[dict[str, Any]]:
    return [t.openai_schema() for t in client.agents.retrieve(agent_id).tools]


def test_a_tool_editing_agent_state_memory_is_persisted(make_client: MakeClient) -> None:
    def rename(agent_state: "AgentState", name: str) -> str:
        """Record the user's name.

        Args:
            name: The user's name.
        """
        agent_state.memory.update_block_value("human", f"Name: {name}")
        return "ok"

    model = ScriptedModel([call("rename", name="Alice"), send("Hi Alice")])
    client = make_client(model=model)
    stored = client.tools.upsert_from_function(func=rename)
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored.id]
    )
    client.agents.messages.create(agent_id=agent.id, messages=user())
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "Name: Alice"
    assert "Name: Alice" in model.requests[1].messages[0]["content"]


def test_a_tool_adding_a_block_is_persisted(make_client: MakeClient, database: str) -> None:
    def add_notes(agent_state: "AgentState") -> str:
        """Add a notes block to memory."""
        from agent import Block  # stored tools are rebuilt from source: imports go inside

        agent_state.memory.add_block(Block(label="notes", value="first note"))
        return "ok"

    first = make_client(database, model=ScriptedModel([call("add_notes"), send("ok")]))
    stored = first.tools.upsert_from_function(func=add_notes)
    agent = first.agents.create(memory_blocks=[{"label": "human"}], tool_ids=[stored.id])
    first.agents.messages.create(agent_id=agent.id, messages=user())
    first.close()
    second = make_client(database, model=ScriptedModel())
    assert [b.label for b in second.agents.blocks.list(agent.id)] == ["human", "notes"]


def test_a_tool_changing_a_description_is_persisted(make_client: MakeClient, database: str) -> None:
    def describe(agent_state: "AgentState") -> str:
        """Describe the human block."""
        agent_state.memory.get_block("human").description = "Facts about the user"
        return "ok"

    first = make_client(database, model=ScriptedModel([call("describe"), send("ok")]))
    stored = first.tools.upsert_from_function(func=describe)
    agent = first.agents.create(memory_blocks=[{"label": "human"}], tool_ids=[stored.id])
    first.agents.messages.create(agent_id=agent.id, messages=user())
    first.close()
    second = make_client(database, model=ScriptedModel())
    human = second.agents.blocks.retrieve(agent.id, block_label="human")
    assert human.description == "Facts about the user"


# -- closing the sync client -------------------------------------------------------------


def test_close_releases_the_event_loop(database: str) -> None:
    client = Client(database)
    client.close()
    loop = client._portal.loop
    try:
        assert loop.is_closed(), "close() leaves the event loop open (ResourceWarning at GC)"
    finally:
        if not loop.is_closed():
            loop.close()


def test_close_twice_returns(database: str) -> None:
    client = Client(database)
    client.close()
    second = threading.Thread(target=client.close, daemon=True)
    second.start()
    second.join(timeout=1)
    try:
        assert not second.is_alive(), "a second close() hangs"
    finally:
        if not client._portal.loop.is_closed():
            client._portal.loop.close()


def test_context_manager_closes(database: str) -> None:
    with Client(database, model=ScriptedModel()) as client:
        client.agents.create()
    assert not client._portal._thread.is_alive()
    if not client._portal.loop.is_closed():
        client._portal.loop.close()


def test_an_unknown_model_string_is_a_config_error_and_saves_nothing(
    make_client: Callable[..., Client],
) -> None:
    client = make_client()
    with pytest.raises(ConfigError, match="unknown model 'anthropic/x'"):
        client.agents.create(model="anthropic/x")
    with pytest.raises(ConfigError, match="unknown embedding model 'cohere/e'"):
        client.agents.create(embedding="cohere/e")
    assert client.agents.list() == []


def test_a_bad_block_gives_one_line_per_problem(make_client: Callable[..., Client]) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError) as caught:
        client.agents.create(memory_blocks=[{"label": "Bad Label", "limit": 0}])
    problems = caught.value.problems
    assert len(problems) == 2
    assert all("\n" not in p and "errors.pydantic.dev" not in p for p in problems)
    assert problems[0].startswith("memory block 0 ('Bad Label'): label:")


def test_a_block_given_to_create_is_copied(make_client: Callable[..., Client]) -> None:
    client = make_client(model=ScriptedModel())
    mine = Block(label="human", value="Bob")
    agent = client.agents.create(memory_blocks=[mine])
    mine.value = "changed by the caller"
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "Bob"


def test_leaving_a_stream_early_releases_the_agent_and_undoes_the_step(
    make_client: Callable[..., Client],
) -> None:
    model = ScriptedModel(
        [call("core_memory_append", label="human", content="likes tea"), send("hi"), send("next")]
    )
    client = make_client(model=model)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": ""}])
    for _ in client.agents.messages.create_stream(agent_id=agent.id, messages=user()):
        break
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == ""
    response = client.agents.messages.create(agent_id=agent.id, messages=user("again"))
    assert response.stop_reason == "end_turn"
