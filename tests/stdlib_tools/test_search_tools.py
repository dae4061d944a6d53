"""archival_memory_insert, archival_memory_search and conversation_search: direct and in turns."""

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from agent import AgentState, AsyncClient, Client, ToolReturnMessage
from agent._history import Record
from agent.testing import ScriptedModel, call, send
from stdlib_tools import archival_memory_insert, archival_memory_search, conversation_search
from toolkit import Tool

FACTS = [f"Bob's plant number {i} is a fern that needs water on day {i}." for i in range(12)]


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    """A client on each backend."""
    made = AsyncClient(database, model=ScriptedModel())
    yield made
    made.close()


@pytest.fixture
async def state(client: AsyncClient) -> AgentState:
    return await client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])


async def insert(state: AgentState, content: str, tags: list[str] | None = None) -> Any:
    arguments: dict[str, Any] = {"content": content}
    if tags is not None:
        arguments["tags"] = tags
    return await archival_memory_insert.ainvoke(arguments, agent_state=state)


async def archival_search(state: AgentState, query: str, page: int | None = None) -> Any:
    arguments: dict[str, Any] = {"query": query}
    if page is not None:
        arguments["page"] = page
    return await archival_memory_search.ainvoke(arguments, agent_state=state)


@pytest.mark.parametrize(
    ("tool", "parameters", "required"),
    [
        (archival_memory_insert, ["content", "tags"], ["content"]),
        (archival_memory_search, ["query", "page", "tags"], ["query"]),
        (conversation_search, ["query", "page", "start_date", "end_date"], ["query"]),
    ],
)
def test_schemas_hide_agent_state(
    tool: Tool[..., Any], parameters: list[str], required: list[str]
) -> None:
    function = tool.openai_schema(False)["function"]
    assert list(function["parameters"]["properties"]) == parameters
    assert function["parameters"]["required"] == required
    assert "agent_state" not in json.dumps(function)
    assert function["description"]
    assert all(function["parameters"]["properties"][p].get("description") for p in parameters)


# -- archival_memory_insert --------------------------------------------------------------


async def test_insert_saves_a_passage(state: AgentState) -> None:
    result = await insert(state, "Bob loves cats.", tags=["pets"])
    assert result.ok, result.content
    assert state.archival is not None
    (passage,) = state.archival.passages()
    assert (passage.text, passage.tags) == ("Bob loves cats.", ["pets"])
    assert result.content == f"Saved to archival memory (passage {passage.id})."


async def test_insert_of_a_duplicate_says_so(state: AgentState) -> None:
    await insert(state, "Bob loves cats.")
    result = await insert(state, "Bob loves cats.")
    assert result.ok
    assert "Already in archival memory" in result.content
    assert "nothing new was saved" in result.content
    assert state.archival is not None
    assert state.archival.count() == 1


@pytest.mark.parametrize("content", ["", "   \n"])
async def test_insert_of_nothing_is_a_tool_error(state: AgentState, content: str) -> None:
    result = await insert(state, content)
    assert result.status == "error"
    assert "content" in result.content
    assert state.archival is not None
    assert state.archival.count() == 0


async def test_without_archival_memory_the_tools_say_so() -> None:
    bare = AgentState(name="sam")
    for result in (
        await insert(bare, "x"),
        await archival_search(bare, "x"),
        await conversation_search.ainvoke({"query": "x"}, agent_state=bare),
    ):
        assert result.status == "error"
        assert "not available" in result.content


# -- archival_memory_search --------------------------------------------------------------


async def test_search_finds_the_passage(state: AgentState) -> None:
    await insert(state, "Bob loves cats.", tags=["pets"])
    await insert(state, "Bob is allergic to peanuts.")
    result = await archival_search(state, "which cats does Bob love")
    assert result.ok
    lines = result.content.splitlines()
    assert lines[0] == "Archival search for 'which cats does Bob love': page 1 of 1, 2 results"
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert lines[1] == f"- ({today}) [tags: pets] Bob loves cats."
    assert "More results" not in result.content


async def test_search_pages_point_to_the_next_page(state: AgentState) -> None:
    for fact in FACTS:
        await insert(state, fact)
    first = await archival_search(state, "fern")
    assert "page 1 of 3, 12 results" in first.content
    assert len([line for line in first.content.splitlines() if line.startswith("- ")]) == 5
    assert "call again with page=1" in first.content
    second = await archival_search(state, "fern", page=1)
    assert "page 2 of 3, 12 results" in second.content
    assert "call again with page=2" in second.content
    last = await archival_search(state, "fern", page=2)
    assert "page 3 of 3, 12 results" in last.content
    assert len([line for line in last.content.splitlines() if line.startswith("- ")]) == 2
    assert "More results" not in last.content
    seen = [
        line
        for result in (first, second, last)
        for line in result.content.splitlines()
        if line.startswith("- ")
    ]
    assert len(set(seen)) == 12


async def test_search_past_the_last_page_says_so(state: AgentState) -> None:
    for fact in FACTS:
        await insert(state, fact)
    result = await archival_search(state, "fern", page=5)
    assert result.ok
    assert "There is no page 5" in result.content
    assert "0 to 2" in result.content
    assert "- " not in result.content


async def test_search_without_a_match_says_so(state: AgentState) -> None:
    await insert(state, "Bob loves cats.")
    result = await archival_search(state, "xylophone")
    assert result.ok
    assert result.content == "No archival memory matches 'xylophone'."


async def test_search_with_a_bad_page_is_a_tool_error(state: AgentState) -> None:
    result = await archival_search(state, "cats", page="second")  # type: ignore[arg-type]
    assert result.status == "error"
    assert "page" in result.content


# -- conversation_search -----------------------------------------------------------------


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture
def history(client: AsyncClient, state: AgentState) -> AgentState:
    client.store.add_messages(
        state.id,
        [
            Record("user", f"Day {day}: we talked about the garden.", created_at=at(day))
            for day in range(1, 8)
        ],
    )
    return state


async def test_conversation_search_lists_dated_messages(history: AgentState) -> None:
    result = await conversation_search.ainvoke(
        {"query": "garden", "start_date": "2024-03-02", "end_date": "2024-03-03"},
        agent_state=history,
    )
    assert result.ok, result.content
    lines = result.content.splitlines()
    assert lines[0] == "Conversation search for 'garden': page 1 of 1, 2 results"
    assert sorted(lines[1:]) == [
        "- (2024-03-02 12:00, user_message) Day 2: we talked about the garden.",
        "- (2024-03-03 12:00, user_message) Day 3: we talked about the garden.",
    ]


async def test_conversation_search_pages(history: AgentState) -> None:
    first = await conversation_search.ainvoke({"query": "garden"}, agent_state=history)
    assert "page 1 of 2, 7 results" in first.content
    assert "call again with page=1" in first.content
    second = await conversation_search.ainvoke({"query": "garden", "page": 1}, agent_state=history)
    assert "page 2 of 2, 7 results" in second.content
    assert "More results" not in second.content
    days = {
        line.split("Day ")[1][0]
        for result in (first, second)
        for line in result.content.splitlines()
        if line.startswith("- ")
    }
    assert days == set("1234567")


async def test_conversation_search_without_a_match_says_so(history: AgentState) -> None:
    result = await conversation_search.ainvoke({"query": "volcano"}, agent_state=history)
    assert result.ok
    assert result.content == "No messages match 'volcano'."


async def test_conversation_search_with_a_bad_date_is_a_tool_error(history: AgentState) -> None:
    result = await conversation_search.ainvoke(
        {"query": "garden", "start_date": "last tuesday"}, agent_state=history
    )
    assert result.status == "error"
    assert "start_date" in result.content


# -- sync invoke -------------------------------------------------------------------------


@pytest.fixture
def sync_state(database: str) -> Iterator[tuple[Client, AgentState]]:
    client = Client(database, model=ScriptedModel())
    try:
        yield client, client.agents.create()
    finally:
        client.close()
        if not client._portal.loop.is_closed():
            client._portal.loop.close()


def test_sync_invoke(sync_state: tuple[Client, AgentState]) -> None:
    _, state = sync_state
    saved = archival_memory_insert.invoke({"content": "Bob loves cats."}, agent_state=state)
    assert saved.ok, saved.content
    again = archival_memory_insert.invoke({"content": "Bob loves cats."}, agent_state=state)
    assert "Already in archival memory" in again.content
    found = archival_memory_search.invoke({"query": "cats"}, agent_state=state)
    assert "page 1 of 1, 1 results" in found.content
    assert "Bob loves cats." in found.content
    none = conversation_search.invoke({"query": "cats"}, agent_state=state)
    assert none.content == "No messages match 'cats'."


# -- through the engine ------------------------------------------------------------------


async def test_engine_insert_then_search(client: AsyncClient) -> None:
    model = client.model
    assert isinstance(model, ScriptedModel)
    model.extend(
        [
            call("archival_memory_insert", content="Bob loves cats.", tags=["pets"]),
            call("archival_memory_insert", content="Bob loves cats."),
            call("archival_memory_search", query="cats"),
            call("archival_memory_search", query="cats", page=3),
            send("Saved."),
        ]
    )
    agent = await client.agents.create()
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "I love cats"}]
    )
    returns = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert [r.status for r in returns] == ["success"] * 4
    assert returns[0].tool_return.startswith("Saved to archival memory")
    assert returns[1].tool_return.startswith("Already in archival memory")
    assert "page 1 of 1, 1 results" in returns[2].tool_return
    assert "[tags: pets] Bob loves cats." in returns[2].tool_return
    assert "There is no page 3" in returns[3].tool_return
    passages = await client.agents.passages.list(agent_id=agent.id)
    assert [p.text for p in passages] == ["Bob loves cats."]
    # the model read each result as the answer to its call
    assert model.requests[3].messages[-1]["content"] == returns[2].tool_return


async def test_engine_conversation_search_finds_an_earlier_turn(client: AsyncClient) -> None:
    model = client.model
    assert isinstance(model, ScriptedModel)
    agent = await client.agents.create()
    model.extend([send("Nice to meet you, Bob.")])
    await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "My name is Bob and I sail."}]
    )
    today = datetime.now(timezone.utc).date().isoformat()
    model.extend(
        [
            call("conversation_search", query="sail", start_date=today, end_date=today),
            call("conversation_search", query="sail", end_date="2000-01-01"),
            send("You sail."),
        ]
    )
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "What do I do for fun?"}]
    )
    found, none = (m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert found.status == "success"
    assert "page 1 of 1, 1 results" in found.tool_return
    assert "user_message) My name is Bob and I sail." in found.tool_return
    assert none.tool_return == "No messages match 'sail'."
