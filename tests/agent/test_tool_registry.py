"""Which tools an agent gets, and tools registered by source: upserts, reopening, staleness.

Every test runs on both backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import stdlib_tools
from agent import AgentState, AsyncClient, ConfigError, ToolReturnMessage
from agent.testing import ScriptedModel, call, send
from toolkit import SchemaError, Tool, tool

BASE = [
    "send_message",
    "core_memory_append",
    "core_memory_replace",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
]


def make_lookup(version: str) -> Any:
    if version == "v1":

        def lookup(city: str) -> str:
            """Look up the weather in a city.

            Args:
                city: The city's name.
            """
            return f"v1: sunny in {city}"

        return lookup

    def lookup(city: str, unit: str = "C") -> str:  # type: ignore[misc]
        """Look up the weather in a city, in the unit asked for.

        Args:
            city: The city's name.
            unit: "C" or "F".
        """
        return f"v2: 20{unit} in {city}"

    return lookup


def roll(sides: int = 6) -> int:
    """Roll a die.

    Args:
        sides: How many faces it has.
    """
    return sides


def flip() -> str:
    """Flip a coin."""
    return "heads"


pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    made = AsyncClient(database, model=ScriptedModel())
    yield made
    made.close()


def names(agent: AgentState) -> list[str]:
    return [t.name for t in agent.tools]


async def run(client: AsyncClient, agent: AgentState, *replies: Any) -> list[ToolReturnMessage]:
    model = client.model
    assert isinstance(model, ScriptedModel)
    model.extend(replies)
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "go"}]
    )
    return [m for m in response.messages if isinstance(m, ToolReturnMessage)]


# -- choosing tools ----------------------------------------------------------------------


async def test_the_base_tools_are_exactly_these(client: AsyncClient) -> None:
    agent = await client.agents.create()
    assert names(agent) == BASE
    assert names(await client.agents.create(include_base_tools=True)) == BASE


async def test_the_model_is_offered_exactly_the_agents_tools(client: AsyncClient) -> None:
    agent = await client.agents.create(tools=["task_queue_pop"])
    await run(client, agent, send("hi"))
    model = client.model
    assert isinstance(model, ScriptedModel)
    offered = [t["function"]["name"] for t in model.requests[0].tools]
    assert offered == [*BASE, "task_queue_pop"]


async def test_without_base_tools_there_are_none(client: AsyncClient) -> None:
    assert names(await client.agents.create(include_base_tools=False)) == []


async def test_tools_by_name(client: AsyncClient) -> None:
    agent = await client.agents.create(include_base_tools=False, tools=["send_message"])
    assert names(agent) == ["send_message"]
    more = await client.agents.create(tools=["task_queue_push", "task_queue_pop"])
    assert names(more) == [*BASE, "task_queue_push", "task_queue_pop"]


async def test_naming_a_base_tool_again_does_not_repeat_it(client: AsyncClient) -> None:
    agent = await client.agents.create(tools=["send_message", "conversation_search"])
    assert names(agent) == BASE


async def test_a_registered_tool_by_name_and_by_id(client: AsyncClient) -> None:
    stored = await client.tools.upsert_from_function(func=roll)
    by_name = await client.agents.create(include_base_tools=False, tools=["roll"])
    by_id = await client.agents.create(include_base_tools=False, tool_ids=[stored.id])
    assert names(by_name) == names(by_id) == ["roll"]


async def test_exactly_send_message_and_two_custom_tools(client: AsyncClient) -> None:
    rolled = await client.tools.upsert_from_function(func=roll)
    flipped = await client.tools.upsert_from_function(func=flip)
    agent = await client.agents.create(
        include_base_tools=False, tools=["send_message"], tool_ids=[rolled.id, flipped.id]
    )
    assert names(agent) == ["send_message", "roll", "flip"]
    retrieved = await client.agents.retrieve(agent.id)
    assert names(retrieved) == ["send_message", "roll", "flip"]
    returns = await run(client, agent, call("roll", sides=20), call("flip"), send("done"))
    assert [(r.status, r.tool_return) for r in returns] == [
        ("success", "20"),
        ("success", "heads"),
    ]


async def test_an_unknown_tool_name_is_a_config_error(client: AsyncClient) -> None:
    with pytest.raises(ConfigError, match="'no_such_tool'") as info:
        await client.agents.create(tools=["send_message", "no_such_tool"])
    assert "task_queue_push" in str(info.value)  # the known tools are listed
    assert await client.agents.list() == []


async def test_an_unknown_tool_id_is_a_config_error(client: AsyncClient) -> None:
    with pytest.raises(ConfigError, match="'tool-nope'"):
        await client.agents.create(tool_ids=["tool-nope"])


async def test_every_unknown_tool_is_reported_at_once(client: AsyncClient) -> None:
    with pytest.raises(ConfigError) as info:
        await client.agents.create(tools=["ghost"], tool_ids=["tool-nope"])
    assert "'ghost'" in str(info.value)
    assert "'tool-nope'" in str(info.value)
    assert len(info.value.problems) == 2


async def test_a_base_tool_name_needs_an_explicit_override(client: AsyncClient) -> None:
    def send_message(message: str) -> str:
        """Pretend to send a message.

        Args:
            message: The message.
        """
        return "not really"

    with pytest.raises(SchemaError, match=r"'send_message' is the name of a built-in.*override"):
        await client.tools.upsert_from_function(func=send_message)
    assert await client.tools.list() == []
    stored = await client.tools.upsert_from_function(func=send_message, override=True)
    assert stored.override
    assert [(t.name, t.override) for t in await client.tools.list()] == [("send_message", True)]
    # the override is what the name means now, base tools included: no clash
    agent = await client.agents.create(tool_ids=[stored.id])
    assert names(agent) == BASE
    returns = await run(client, agent, call("send_message", message="hi"), send("x"))
    assert returns == []  # still the tool that ends the turn


async def test_a_stored_tool_named_like_an_optional_built_in(client: AsyncClient) -> None:
    @tool(name="task_queue_pop")
    def pop_something() -> str:
        """Pop something else."""
        return "other"

    stored = await client.tools.upsert_from_function(func=pop_something)
    assert not stored.override
    by_id = await client.agents.create(include_base_tools=False, tool_ids=[stored.id])
    assert by_id.tools[0].invoke("").content == "other"
    by_name = await client.agents.create(include_base_tools=False, tools=["task_queue_pop"])
    assert by_name.tools[0] is stdlib_tools.task_queue_pop  # the name still means the built-in
    with pytest.raises(ConfigError, match="two different tools are named 'task_queue_pop'"):
        await client.agents.create(tools=["task_queue_pop"], tool_ids=[stored.id])


# -- upserting ---------------------------------------------------------------------------


async def test_upsert_of_the_same_function_is_idempotent(client: AsyncClient) -> None:
    first = await client.tools.upsert_from_function(func=make_lookup("v1"))
    again = await client.tools.upsert_from_function(func=make_lookup("v1"))
    assert first.id == again.id
    assert first.source_hash == again.source_hash
    assert first.source_hash
    assert (first.version, again.version) == (1, 2)  # every upsert is a new version
    assert replace(first, version=2) == again
    assert [t.id for t in await client.tools.list()] == [first.id]
    assert first.source is not None
    assert "def lookup(city: str)" in first.source


async def test_upsert_of_changed_source_keeps_the_id(client: AsyncClient) -> None:
    first = await client.tools.upsert_from_function(func=make_lookup("v1"))
    changed = await client.tools.upsert_from_function(func=make_lookup("v2"))
    assert changed.id == first.id
    assert changed.source_hash != first.source_hash
    assert list(first.json_schema["function"]["parameters"]["properties"]) == ["city"]
    assert list(changed.json_schema["function"]["parameters"]["properties"]) == ["city", "unit"]
    assert "unit asked for" in changed.description
    (listed,) = await client.tools.list()
    assert (listed.id, listed.source_hash) == (first.id, changed.source_hash)
    assert listed.json_schema == changed.json_schema


async def test_upsert_switches_loaded_agents_to_the_new_version(client: AsyncClient) -> None:
    stored = await client.tools.upsert_from_function(func=make_lookup("v1"))
    agent = await client.agents.create(tool_ids=[stored.id])
    (before,) = await run(client, agent, call("lookup", city="Oslo"), send("ok"))
    assert before.tool_return == "v1: sunny in Oslo"
    await client.tools.upsert_from_function(func=make_lookup("v2"))
    (after,) = await run(client, agent, call("lookup", city="Oslo", unit="F"), send("ok"))
    assert after.tool_return == "v2: 20F in Oslo"


async def test_upsert_of_a_tool_object_and_of_tool_from_source(client: AsyncClient) -> None:
    decorated = await client.tools.upsert_from_function(func=tool(roll))
    assert decorated.name == "roll"
    source = (
        "def shout(text: str) -> str:\n"
        '    """Shout.\n\n    Args:\n        text: What.\n    """\n'
        "    return text.upper()\n"
    )
    built = await client.tools.upsert_from_function(func=Tool.from_source(source))
    assert built.source is not None
    assert "return text.upper()" in built.source
    agent = await client.agents.create(tool_ids=[built.id])
    (result,) = await run(client, agent, call("shout", text="hey"), send("ok"))
    assert result.tool_return == "HEY"


# -- tools stored by source, in a new process ---------------------------------------------

SOURCE_V1 = '''
def weather(city: str) -> str:
    """Look up the weather in a city.

    Args:
        city: The city's name.
    """
    return "v1: sunny in " + city
'''

SOURCE_V2 = '''
def weather(city: str) -> str:
    """Look up the weather in a city.

    Args:
        city: The city's name.
    """
    return "v2: rainy in " + city
'''


def from_source(tmp_path: Path, code: str, stem: str) -> Any:
    """A function defined by executing ``code`` in a throwaway namespace (not importable)."""
    path = tmp_path / f"{stem}.py"
    path.write_text(code)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(path), "exec"), namespace)
    return namespace["weather"]


async def test_a_tool_stored_by_source_is_rebuilt_in_a_new_process(
    tmp_path: Path, database: str
) -> None:
    first = AsyncClient(database, model=ScriptedModel())
    try:
        stored = await first.tools.upsert_from_function(func=from_source(tmp_path, SOURCE_V1, "a"))
        assert stored.source is not None
        agent = await first.agents.create(tool_ids=[stored.id])
    finally:
        first.close()
    (tmp_path / "a.py").unlink()  # nothing left to import the function from
    second = AsyncClient(database, model=ScriptedModel())
    try:
        (listed,) = await second.tools.list()
        assert (listed.id, listed.source_hash) == (stored.id, stored.source_hash)
        reopened = await second.agents.retrieve(agent.id)
        assert names(reopened) == [*BASE, "weather"]
        (result,) = await run(second, reopened, call("weather", city="Oslo"), send("ok"))
        assert (result.status, result.tool_return) == ("success", "v1: sunny in Oslo")
    finally:
        second.close()


async def test_a_stale_stored_tool_is_refreshed_by_upsert(tmp_path: Path, database: str) -> None:
    first = AsyncClient(database, model=ScriptedModel())
    try:
        stored = await first.tools.upsert_from_function(func=from_source(tmp_path, SOURCE_V1, "a"))
        agent = await first.agents.create(tool_ids=[stored.id])
    finally:
        first.close()
    second = AsyncClient(database, model=ScriptedModel())
    try:
        loaded = await second.agents.retrieve(agent.id)  # weather v1, rebuilt from source
        (old,) = await run(second, loaded, call("weather", city="Oslo"), send("ok"))
        assert old.tool_return == "v1: sunny in Oslo"
        fresh = await second.tools.upsert_from_function(func=from_source(tmp_path, SOURCE_V2, "b"))
        assert fresh.id == stored.id
        assert fresh.source_hash != stored.source_hash
        (new,) = await run(second, loaded, call("weather", city="Oslo"), send("ok"))
        assert new.tool_return == "v2: rainy in Oslo"
    finally:
        second.close()
    third = AsyncClient(database, model=ScriptedModel())
    try:
        reopened = await third.agents.retrieve(agent.id)
        (later,) = await run(third, reopened, call("weather", city="Oslo"), send("ok"))
        assert later.tool_return == "v2: rainy in Oslo"
    finally:
        third.close()


async def test_upsert_before_loading_an_agent_wins_over_the_stored_source(
    tmp_path: Path, database: str
) -> None:
    first = AsyncClient(database, model=ScriptedModel())
    try:
        stored = await first.tools.upsert_from_function(func=from_source(tmp_path, SOURCE_V1, "a"))
        agent = await first.agents.create(tool_ids=[stored.id])
    finally:
        first.close()
    second = AsyncClient(database, model=ScriptedModel())
    try:
        await second.tools.upsert_from_function(func=from_source(tmp_path, SOURCE_V2, "b"))
        loaded = await second.agents.retrieve(agent.id)
        (result,) = await run(second, loaded, call("weather", city="Oslo"), send("ok"))
        assert result.tool_return == "v2: rainy in Oslo"
    finally:
        second.close()
