"""MCP servers as tool sources: a real server (the SDK's ``MCPServer``) over stdio and HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _mcp_paths import ROOT, SERVER, Start
from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)

from agent import AsyncClient, ConfigError, McpServer, McpTool, NotFoundError
from agent._mcp_connection import render
from agent.testing import ScriptedModel, call, send


def stdio(**options: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(SERVER)], "cwd": str(ROOT), **options}


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., AsyncClient]]:
    made: list[AsyncClient] = []

    def new(path: str | Path = ":memory:") -> AsyncClient:
        client = AsyncClient(path, model=ScriptedModel([]))
        made.append(client)
        return client

    yield new
    for client in made:
        await client.mcp_servers.disconnect()
        client.close()


async def turn(client: AsyncClient, agent_id: str, *replies: Any) -> list[tuple[str, str]]:
    model = client.model
    assert isinstance(model, ScriptedModel)
    model.extend([*replies, send("done")])
    response = await client.agents.messages.create(
        agent_id=agent_id, messages=[{"role": "user", "content": "go"}]
    )
    assert response.stop_reason == "end_turn"
    returns = [m for m in response.messages if m.message_type == "tool_return_message"]
    return [(r.status, r.tool_return) for r in returns]


@pytest.fixture(params=["stdio", "http"])
def reach(request: pytest.FixtureRequest, http_server: Start) -> dict[str, Any]:
    if request.param == "stdio":
        return stdio()
    return {"url": http_server(sys.executable, str(SERVER), "--http", "PORT")}


async def test_register_list_attach_and_call(
    make: Callable[..., AsyncClient], reach: dict[str, Any]
) -> None:
    client = make()
    server = await client.mcp_servers.create(name="facts", **reach)
    assert isinstance(server, McpServer)
    assert set(server.tools) == {"lookup", "fail", "die", "slow", "send_message", "pid"}
    assert [s.name for s in await client.mcp_servers.list()] == ["facts"]
    tools = {t.remote: t for t in await client.mcp_servers.list_tools("facts")}
    lookup = tools["lookup"]
    assert isinstance(lookup, McpTool)
    assert (lookup.name, lookup.server, lookup.strict_reason) == ("lookup", "facts", None)
    assert lookup.parameters["required"] == ["key"]
    assert lookup.openai_schema()["function"]["strict"] is True
    assert tools["send_message"].name == "facts__send_message"  # a built-in's name: prefixed

    agent = await client.agents.create(tools=["facts/lookup", "facts/fail"])
    assert {"lookup", "fail"} <= {t.name for t in agent.tools}
    got = await turn(
        client, agent.id,
        call("lookup", key="capital"), call("fail", message="boom"), call("lookup", {"k": 1}),
    )  # fmt: skip
    assert got[0] == ("success", "Paris")
    assert got[1][0] == "error"
    assert "failed on MCP server 'facts'" in got[1][1]
    assert got[2][0] == "error"
    assert "'key'" in got[2][1]  # checked against the server's schema before the call


async def test_a_server_killed_mid_turn_is_a_tool_error_then_reconnects(
    make: Callable[..., AsyncClient],
) -> None:
    client = make()
    await client.mcp_servers.create(name="facts", **stdio())
    agent = await client.agents.create(tools=["facts/die", "facts/lookup", "facts/pid"])
    got = await turn(
        client, agent.id, call("pid"), call("die"), call("pid"), call("lookup", key="river")
    )
    first, died, second, after = got
    assert died[0] == "error"
    assert "may not have run" in died[1]
    assert first[0] == second[0] == "success"
    assert first[1] != second[1]  # a new server process
    assert after == ("success", "Seine")


async def test_timeout_is_a_tool_error(make: Callable[..., AsyncClient]) -> None:
    client = make()
    await client.mcp_servers.create(name="facts", timeout=1.0, **stdio())
    agent = await client.agents.create(tools=["facts/slow", "facts/lookup"])
    got = await turn(client, agent.id, call("slow", seconds=3), call("lookup", key="capital"))
    assert got[0][0] == "error"
    assert "no answer within 1s" in got[0][1]
    assert got[1] == ("success", "Paris")


async def test_restart_loads_without_contacting_then_reconnects(
    make: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    path = tmp_path / "agents.db"
    first = make(path)
    await first.mcp_servers.create(name="facts", **stdio())
    agent = await first.agents.create(tools=["facts/lookup"])
    assert await turn(first, agent.id, call("lookup", key="capital")) == [("success", "Paris")]
    await first.mcp_servers.disconnect()
    first.close()

    again = make(path)
    loaded = await again.agents.retrieve(agent.id)
    assert "lookup" in {t.name for t in loaded.tools}
    assert again.registry.mcp._connections is None  # loading contacted nothing
    assert await turn(again, agent.id, call("lookup", key="river")) == [("success", "Seine")]


async def test_colliding_names_get_a_deterministic_prefix(make: Callable[..., AsyncClient]) -> None:
    client = make()
    await client.mcp_servers.create(name="one", **stdio())
    await client.mcp_servers.create(name="two", **stdio())
    names = sorted(t.name for t in await client.mcp_servers.list_tools("two"))
    assert "two__lookup" in names
    assert "lookup" not in names
    agent = await client.agents.create(tools=["one/lookup", "two/lookup"])
    assert {"one__lookup", "two__lookup"} <= {t.name for t in agent.tools}
    got = await turn(client, agent.id, call("two__lookup", key="capital"))
    assert got == [("success", "Paris")]


async def test_attach_all_delete_and_refusals(make: Callable[..., AsyncClient]) -> None:
    client = make()
    await client.mcp_servers.create(name="facts", **stdio())
    agent = await client.agents.create()
    attached = await client.mcp_servers.attach(agent.id, "facts")
    assert {"lookup", "pid", "facts__send_message"} <= {t.name for t in attached.tools}
    again = await client.mcp_servers.attach(agent.id, "facts", tools=["lookup"])
    assert len(again.tools) == len(attached.tools)
    with pytest.raises(ConfigError, match="does not list a tool 'nope'"):
        await client.mcp_servers.attach(agent.id, "facts", tools=["nope"])
    await client.mcp_servers.delete("facts")
    assert not any(t.name == "lookup" for t in (await client.agents.retrieve(agent.id)).tools)
    with pytest.raises(NotFoundError):
        await client.mcp_servers.delete("facts")
    with pytest.raises(ConfigError, match="no MCP server is registered as 'facts'"):
        await client.agents.create(tools=["facts/lookup"])
    with pytest.raises(ConfigError, match="exactly one of command="):
        await client.mcp_servers.create(name="x", command="a", url="http://127.0.0.1:1/mcp")
    with pytest.raises(ConfigError, match="could not connect"):
        await client.mcp_servers.create(name="x", command=str(ROOT / "no-such-command"))
    assert await client.mcp_servers.list() == []


def test_render_notes_non_text_content() -> None:
    result = CallToolResult(
        content=[
            TextContent(text="hello"),
            ImageContent(data="AAAA", mime_type="image/png"),
            EmbeddedResource(
                type="resource", resource=TextResourceContents(uri="file:///a", text="inside")
            ),
        ]
    )
    assert render(result) == "hello\n[image content (image/png) not shown: text only]\ninside"
