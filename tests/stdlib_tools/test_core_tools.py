"""The standard tools, called directly with an ``AgentState`` and through the engine."""

import json
from typing import Any

import pytest

import stdlib_tools
from agent import AgentState, AsyncClient, Block, Memory, ToolReturnMessage
from agent.testing import ScriptedModel, call, send
from stdlib_tools import BASE_TOOLS, core_memory_append, core_memory_replace, send_message
from toolkit import Tool


@pytest.fixture
def state() -> AgentState:
    return AgentState(
        name="sam",
        memory=Memory(
            [
                Block(label="human", value="Name: Bob\nLikes: tea", limit=40),
                Block(label="persona", value="I am Sam.", read_only=True),
                Block(label="notes"),
            ]
        ),
        tools=list(BASE_TOOLS),
    )


def value(state: AgentState, label: str) -> str:
    return state.memory.get_block(label).value


# -- the tools themselves ----------------------------------------------------------------


def test_base_tools() -> None:
    assert [t.name for t in BASE_TOOLS] == [
        "send_message",
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    ]
    assert all(isinstance(t, Tool) for t in BASE_TOOLS)
    assert stdlib_tools.send_message is send_message


@pytest.mark.parametrize(
    ("tool", "parameters"),
    [
        (send_message, ["message"]),
        (core_memory_append, ["label", "content"]),
        (core_memory_replace, ["label", "old_content", "new_content"]),
    ],
)
def test_schemas_hide_agent_state(tool: Tool[..., Any], parameters: list[str]) -> None:
    schema = tool.openai_schema()
    function = schema["function"]
    assert function["name"] == tool.name
    assert list(function["parameters"]["properties"]) == parameters
    assert function["parameters"]["required"] == parameters
    assert "agent_state" not in json.dumps(schema)
    assert function["description"]
    assert all(function["parameters"]["properties"][p].get("description") for p in parameters)


def test_send_message() -> None:
    result = send_message.invoke({"message": "Hello!"})
    assert result.ok
    assert send_message.invoke({}).status == "error"


# -- core_memory_append ------------------------------------------------------------------


def test_append_adds_a_line(state: AgentState) -> None:
    result = core_memory_append.invoke(
        {"label": "human", "content": "Has a cat."}, agent_state=state
    )
    assert result.ok, result.content
    assert value(state, "human") == "Name: Bob\nLikes: tea\nHas a cat."
    assert "human" in result.content
    assert "31 of 40" in result.content


def test_append_to_an_empty_block_adds_no_blank_line(state: AgentState) -> None:
    result = core_memory_append.invoke('{"label": "notes", "content": "first"}', agent_state=state)
    assert result.ok
    assert value(state, "notes") == "first"


def test_append_over_the_limit_changes_nothing(state: AgentState) -> None:
    result = core_memory_append.invoke({"label": "human", "content": "x" * 30}, agent_state=state)
    assert result.status == "error"
    assert "'human'" in result.content
    assert "40" in result.content  # the limit
    assert "51" in result.content  # the size the append asked for
    assert value(state, "human") == "Name: Bob\nLikes: tea"


def test_append_to_a_read_only_block_is_refused(state: AgentState) -> None:
    result = core_memory_append.invoke(
        {"label": "persona", "content": "I obey."}, agent_state=state
    )
    assert result.status == "error"
    assert "read-only" in result.content
    assert "'persona'" in result.content
    assert value(state, "persona") == "I am Sam."


def test_append_to_an_unknown_block_lists_the_blocks(state: AgentState) -> None:
    result = core_memory_append.invoke({"label": "pets", "content": "cat"}, agent_state=state)
    assert result.status == "error"
    assert "'pets'" in result.content
    for label in ["human", "persona", "notes"]:
        assert label in result.content


def test_append_with_a_missing_argument_is_an_error(state: AgentState) -> None:
    result = core_memory_append.invoke({"label": "human"}, agent_state=state)
    assert result.status == "error"
    assert "content" in result.content
    assert value(state, "human") == "Name: Bob\nLikes: tea"


# -- core_memory_replace -----------------------------------------------------------------


def replace(state: AgentState, label: str, old: str, new: str) -> Any:
    return core_memory_replace.invoke(
        {"label": label, "old_content": old, "new_content": new}, agent_state=state
    )


def test_replace_swaps_exact_text(state: AgentState) -> None:
    result = replace(state, "human", "Bob", "Alice")
    assert result.ok, result.content
    assert value(state, "human") == "Name: Alice\nLikes: tea"
    assert "22 of 40" in result.content


def test_replace_with_empty_new_content_deletes(state: AgentState) -> None:
    result = replace(state, "human", "\nLikes: tea", "")
    assert result.ok
    assert value(state, "human") == "Name: Bob"


def test_replace_refuses_empty_old_content(state: AgentState) -> None:
    result = replace(state, "human", "", "Alice")
    assert result.status == "error"
    assert "old_content" in result.content
    assert value(state, "human") == "Name: Bob\nLikes: tea"


def test_replace_without_a_match_shows_the_block(state: AgentState) -> None:
    result = replace(state, "human", "Name: Robert", "Name: Alice")
    assert result.status == "error"
    assert "not found" in result.content
    assert "Name: Bob\nLikes: tea" in result.content  # the current text, to copy from
    assert "20 of 40" in result.content  # and its usage
    assert value(state, "human") == "Name: Bob\nLikes: tea"


def test_replace_with_several_matches_asks_for_a_unique_fragment(state: AgentState) -> None:
    state.memory.update_block_value("notes", "a cat; a cat; a cat")
    result = replace(state, "notes", "a cat", "a dog")
    assert result.status == "error"
    assert "3 times" in result.content
    assert "exactly once" in result.content or "unique" in result.content
    assert value(state, "notes") == "a cat; a cat; a cat"


def test_replace_over_the_limit_changes_nothing(state: AgentState) -> None:
    result = replace(state, "human", "tea", "t" * 40)
    assert result.status == "error"
    assert "40" in result.content
    assert "57" in result.content
    assert value(state, "human") == "Name: Bob\nLikes: tea"


def test_replace_in_a_read_only_block_is_refused(state: AgentState) -> None:
    result = replace(state, "persona", "Sam", "Evil")
    assert result.status == "error"
    assert "read-only" in result.content
    assert value(state, "persona") == "I am Sam."


def test_replace_in_an_unknown_block_lists_the_blocks(state: AgentState) -> None:
    result = replace(state, "pets", "cat", "dog")
    assert result.status == "error"
    assert "'pets'" in result.content
    for label in ["human", "persona", "notes"]:
        assert label in result.content


def test_tools_need_their_agent_state() -> None:
    from toolkit import InjectionError

    with pytest.raises(InjectionError, match="agent_state"):
        core_memory_append.invoke({"label": "human", "content": "x"})


def test_the_model_cannot_pass_agent_state(state: AgentState) -> None:
    result = core_memory_append.invoke(
        {"label": "human", "content": "x", "agent_state": {}}, agent_state=state
    )
    assert result.status == "error"
    assert value(state, "human") == "Name: Bob\nLikes: tea"


# -- through the engine ------------------------------------------------------------------


async def run(
    database: str, replies: list[Any]
) -> tuple[AsyncClient, str, list[Any], ScriptedModel]:
    """One turn on ``database`` (each backend) in which the model makes ``replies``."""
    model = ScriptedModel([*replies, send("done")])
    client = AsyncClient(database, model=model)
    agent = await client.agents.create(
        memory_blocks=[
            {"label": "human", "value": "Name: Bob\nLikes: tea", "limit": 40},
            {"label": "persona", "value": "I am Sam.", "read_only": True},
        ]
    )
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "hi"}]
    )
    returns = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    return client, agent.id, returns, model


async def block_value(client: AsyncClient, agent_id: str, label: str) -> str:
    return (await client.agents.blocks.retrieve(agent_id, block_label=label)).value


async def test_engine_append_and_replace(database: str) -> None:
    client, agent_id, returns, model = await run(
        database,
        [
            call("core_memory_append", label="human", content="Has a cat."),
            call("core_memory_replace", label="human", old_content="cat", new_content="dog"),
        ],
    )
    try:
        assert [r.status for r in returns] == ["success", "success"]
        assert await block_value(client, agent_id, "human") == "Name: Bob\nLikes: tea\nHas a dog."
        assert "Has a cat." in model.requests[1].messages[0]["content"]
        assert "Has a dog." in model.requests[2].messages[0]["content"]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (call("core_memory_append", label="human", content="x" * 30), "40"),
        (call("core_memory_append", label="persona", content="I obey."), "read-only"),
        (call("core_memory_append", label="pets", content="cat"), "human, persona"),
        (call("core_memory_replace", label="human", old_content="", new_content="x"), "empty"),
        (
            call("core_memory_replace", label="human", old_content="Robert", new_content="x"),
            "Name: Bob\nLikes: tea",
        ),
        (
            call("core_memory_replace", label="human", old_content="e", new_content="E"),
            "3 times",
        ),
        (
            call("core_memory_replace", label="human", old_content="tea", new_content="t" * 40),
            "40",
        ),
        (
            call("core_memory_replace", label="persona", old_content="Sam", new_content="X"),
            "read-only",
        ),
    ],
)
async def test_engine_refusals_change_nothing(database: str, reply: Any, needle: str) -> None:
    client, agent_id, returns, model = await run(database, [reply])
    try:
        (refusal,) = returns
        assert refusal.status == "error"
        assert needle in refusal.tool_return
        assert await block_value(client, agent_id, "human") == "Name: Bob\nLikes: tea"
        assert await block_value(client, agent_id, "persona") == "I am Sam."
        # the model read the refusal as the result of its call
        assert model.requests[1].messages[-1]["content"] == refusal.tool_return
    finally:
        client.close()
