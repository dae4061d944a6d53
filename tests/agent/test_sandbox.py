"""Sandboxed tools: each call in its own process, memory edits applied back through the checks."""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent import AgentState, AsyncClient, Block, Memory, Sandbox, ToolReturnMessage
from agent.testing import ScriptedModel, call, send
from toolkit import Tool


def note(agent_state: "AgentState", text: str) -> str:
    """Append a note to the notes block.

    Args:
        text: The note.
    """
    block = agent_state.memory.get_block("notes")
    agent_state.memory.update_block_value("notes", block.value + text)
    return f"noted in process {__import__('os').getpid()}"


def scribble_then_fail(agent_state: "AgentState") -> str:
    """Edit memory, then fail."""
    agent_state.memory.update_block_value("notes", "GARBAGE")
    raise RuntimeError("crash after the edit")


def grow(agent_state: "AgentState") -> str:
    """Add a block, and edit a read-only one if asked."""
    from agent import Block  # in the sandbox, the real Block: its checks hold there too

    agent_state.memory.add_block(Block(label="extra", value="new", limit=10))
    print("printed output does not disturb the answer")
    return "grown"


ENVIRONMENT = Tool.from_source(
    '''
def environment() -> str:
    """Say which environment variables the tool sees."""
    import os

    return " ".join(sorted(k for k in os.environ if k != "LC_CTYPE"))
'''
)


SPIN = '''
def spin(pid_file: str) -> str:
    """Record the process id, then never return.

    Args:
        pid_file: Where to write the process id.
    """
    import os

    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    while True:
        pass
'''

DIE = '''
def die(how: str) -> str:
    """End the process abruptly.

    Args:
        how: "exit" or "kill".
    """
    import os
    import signal

    if how == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)
    return "unreachable"
'''


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    made = AsyncClient(":memory:", model=ScriptedModel())
    yield made
    made.close()


async def turn(client: AsyncClient, agent: AgentState, *replies: Any) -> list[ToolReturnMessage]:
    model = client.model
    assert isinstance(model, ScriptedModel)
    model.extend(replies)
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": "go"}]
    )
    return [m for m in response.messages if isinstance(m, ToolReturnMessage)]


async def notes_agent(client: AsyncClient, *tools: Any, sandbox: bool = True) -> AgentState:
    ids = [(await client.tools.upsert_from_function(func=t, sandbox=sandbox)).id for t in tools]
    blocks = [
        {"label": "notes", "value": "", "limit": 12},
        {"label": "rules", "value": "be kind", "read_only": True},
    ]
    return await client.agents.create(memory_blocks=blocks, tool_ids=ids)


async def value(client: AsyncClient, agent: AgentState, label: str) -> str:
    return (await client.agents.blocks.retrieve(agent.id, block_label=label)).value


async def test_memory_edits_come_back_through_the_limits(client: AsyncClient) -> None:
    agent = await notes_agent(client, note)
    ok, too_long = await turn(
        client, agent, call("note", text="tea"), call("note", text="and much more"), send("ok")
    )
    assert ok.status == "success"
    assert ok.tool_return.startswith("noted in process ")
    assert ok.tool_return != f"noted in process {os.getpid()}"  # it ran elsewhere
    assert too_long.status == "error"
    assert "limit of 12 characters" in too_long.tool_return
    assert await value(client, agent, "notes") == "tea"  # persisted; the refused edit not made


async def test_a_failing_sandboxed_tool_changes_nothing(client: AsyncClient) -> None:
    agent = await notes_agent(client, scribble_then_fail)
    (result,) = await turn(client, agent, call("scribble_then_fail"), send("sorry"))
    assert (result.status, result.tool_return) == (
        "error",
        "Error: tool 'scribble_then_fail': failed: RuntimeError: crash after the edit",
    )
    assert await value(client, agent, "notes") == ""


async def test_a_sandboxed_tool_adds_a_block_and_may_print(client: AsyncClient) -> None:
    agent = await notes_agent(client, grow)
    (result,) = await turn(client, agent, call("grow"), send("ok"))
    assert (result.status, result.tool_return) == ("success", "grown")
    assert await value(client, agent, "extra") == "new"


async def test_read_only_blocks_stay_read_only_in_the_sandbox(client: AsyncClient) -> None:
    edit = Tool.from_source(
        'def edit(agent_state: "AgentState") -> str:\n'
        '    """Edit the rules."""\n'
        '    agent_state.memory.update_block_value("rules", "be rude")\n'
        '    return "edited"\n'
    )
    agent = await notes_agent(client, edit)
    (result,) = await turn(client, agent, call("edit"), send("ok"))
    assert (result.status, result.tool_return) == (
        "error",
        "block 'rules' is read-only; it cannot be edited",
    )
    assert await value(client, agent, "rules") == "be kind"


async def test_only_the_given_environment(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "do not leak")
    client.registry.sandbox = Sandbox(env={"GREETING": "hi"})
    agent = await notes_agent(client, ENVIRONMENT, sandbox=False)  # sandboxed client-wide
    (result,) = await turn(client, agent, call("environment"), send("ok"))
    assert (result.status, result.tool_return) == ("success", "GREETING")


async def test_a_timeout_kills_the_process(client: AsyncClient, tmp_path: Path) -> None:
    client.registry.sandbox = Sandbox(timeout=1.5)
    agent = await notes_agent(client, Tool.from_source(SPIN), sandbox=False)
    pid_file = tmp_path / "pid"
    (result,) = await turn(client, agent, call("spin", pid_file=str(pid_file)), send("ok"))
    assert (result.status, result.tool_return) == (
        "error",
        "Error: tool 'spin': timed out after 1.5s; the sandbox process was killed",
    )
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


async def test_a_crash_is_a_tool_error(client: AsyncClient) -> None:
    agent = await notes_agent(client, Tool.from_source(DIE))
    exited, killed = await turn(
        client, agent, call("die", how="exit"), call("die", how="kill"), send("ok")
    )
    assert exited.status == killed.status == "error"
    assert exited.tool_return == (
        "Error: tool 'die': the sandbox process exited with status 3 before answering"
    )
    assert killed.tool_return == (
        "Error: tool 'die': the sandbox process was killed by signal 9 before answering"
    )


async def test_stored_source_that_fails_to_build_is_a_tool_error(client: AsyncClient) -> None:
    stored = await client.tools.upsert_from_function(func=note, sandbox=True)
    client.store.db.execute(
        "UPDATE tools SET source = 'raise ValueError(\"broken\")\ndef note(): pass',"
        " version = version + 1"
    )
    tool = client.registry.by_id(stored.id)
    state = AgentState(name="a", memory=Memory([Block(label="notes")]))
    result = await tool.ainvoke('{"text": "x"}', agent_state=state)
    assert result.status == "error"
    assert result.content.startswith(
        "Error: tool 'note': could not be built from its stored source: SchemaError"
    )
    assert "running it raised ValueError: broken" in result.content
    assert state.memory.get_block("notes").value == ""


def test_the_sync_path_and_a_cold_process(tmp_path: Path) -> None:
    from agent import Client

    client = Client(tmp_path / "agents.db", model=ScriptedModel())
    try:
        client.async_client.registry.sandbox = Sandbox(warm=False)
        stored = client.tools.upsert_from_function(func=Tool.from_source(DIE.replace("die", "d")))
        tool = client.async_client.registry.by_id(stored.id)
        assert "exited with status 3" in tool.invoke('{"how": "exit"}').content
    finally:
        client.close()


async def test_tools_by_reference_run_in_process_even_with_a_client_sandbox(
    client: AsyncClient,
) -> None:
    client.registry.sandbox = Sandbox()
    agent = await notes_agent(client, note, sandbox=False)  # importable: stored by reference
    (result,) = await turn(client, agent, call("note", text="here"), send("ok"))
    assert result.tool_return == f"noted in process {os.getpid()}"
