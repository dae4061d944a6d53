"""MCP servers over REST: ``letta_client``'s ``tools.*_mcp_*`` against ``selfedit serve``.

The MCP server is a real one (the SDK's ``MCPServer``, tests/mcp/mcp_server.py) that the
selfedit server starts over stdio; the stand-in model calls its ``lookup`` tool.
"""

import sys
from pathlib import Path

import pytest
from _serving import ROOT, Serve, letta
from letta_client import StdioServerConfig
from letta_client.core.api_error import ApiError

from agent import ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send

HERE = str(Path(__file__).parent)
SERVER = str(ROOT / "tests" / "mcp" / "mcp_server.py")
FACTS = StdioServerConfig(server_name="facts", command=sys.executable, args=[SERVER])


def _reply(request: ModelRequest) -> ModelResponse:
    last = request.messages[-1]
    if last["role"] == "tool":  # the lookup answered: say what it said
        return send(str(last["content"]))
    return call("lookup", key="capital")


def model() -> FunctionModel:
    """The stand-in (``--stand-in test_mcp_routes:model``): look up, then say the answer."""
    return FunctionModel(_reply, name="stand-in/mcp")


def test_add_list_attach_call_delete(serve: Serve) -> None:
    base_url = serve(stand_in="test_mcp_routes:model", path=(HERE,))
    with letta(base_url) as client:
        added = client.tools.add_mcp_server(request=FACTS)
        assert [(s.server_name, s.command, s.args) for s in added] == [
            ("facts", sys.executable, [SERVER])
        ]
        assert list(client.tools.list_mcp_servers()) == ["facts"]
        tools = {t.name: t for t in client.tools.list_mcp_tools_by_server(mcp_server_name="facts")}
        assert {"lookup", "fail", "send_message"} <= set(tools)
        assert tools["lookup"].input_schema["required"] == ["key"]

        lookup = client.tools.add_mcp_tool(mcp_server_name="facts", mcp_tool_name="lookup")
        assert (lookup.name, lookup.tool_type) == ("lookup", "external_mcp")
        agent = client.agents.create(model="openai/x", memory_blocks=[])
        agent = client.agents.tools.attach(agent_id=agent.id, tool_id=lookup.id)
        assert lookup.id in [t.id for t in agent.tools]

        reply = client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "capital?"}]
        )
        returns = [m for m in reply.messages if m.message_type == "tool_return_message"]
        first = returns[0]
        assert (first.name, first.status, first.tool_return) == ("lookup", "success", "Paris")
        said = [m.content for m in reply.messages if m.message_type == "assistant_message"]
        assert said == ["Paris"]

        assert client.tools.delete_mcp_server(mcp_server_name="facts") == []
        assert client.tools.list_mcp_servers() == {}
        assert lookup.id not in [t.id for t in client.agents.retrieve(agent.id).tools]


def test_create_with_tool_ids_and_errors(serve: Serve) -> None:
    base_url = serve(stand_in="echo")
    with letta(base_url) as client:
        client.tools.add_mcp_server(request=FACTS)
        prefixed = client.tools.add_mcp_tool(mcp_server_name="facts", mcp_tool_name="send_message")
        assert prefixed.name == "facts__send_message"  # a built-in's name: prefixed
        agent = client.agents.create(model="openai/x", memory_blocks=[], tool_ids=[prefixed.id])
        assert "facts__send_message" in [t.name for t in agent.tools]
        agent = client.agents.tools.detach(agent_id=agent.id, tool_id=prefixed.id)
        assert "facts__send_message" not in [t.name for t in agent.tools]

        with pytest.raises(ApiError) as missing:
            client.tools.add_mcp_tool(mcp_server_name="facts", mcp_tool_name="nope")
        assert missing.value.status_code == 404
        assert "has no tool 'nope'" in missing.value.body["detail"]
        with pytest.raises(ApiError) as unknown:
            client.tools.list_mcp_tools_by_server(mcp_server_name="other")
        assert unknown.value.status_code == 404
        with pytest.raises(ApiError) as down:
            broken = StdioServerConfig(server_name="broken", command="/nonexistent", args=[])
            client.tools.add_mcp_server(request=broken)
        assert down.value.status_code == 422
        assert "could not connect" in str(down.value.body)
        assert list(client.tools.list_mcp_servers()) == ["facts"]  # nothing stored for it
