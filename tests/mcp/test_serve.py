"""``selfedit mcp serve``, driven by the official MCP SDK's client over stdio and HTTP."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tools_to_serve
from _mcp_paths import ROOT, Start
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent

from agent._mcp_serve import STRICT_META

TARGET = str(ROOT / "tests" / "mcp" / "tools_to_serve.py")
COMMAND = [sys.executable, "-m", "agent._cli", "mcp", "serve", TARGET]
SERVED = [
    tools_to_serve.add,
    tools_to_serve.shout,
    tools_to_serve.explode,
    tools_to_serve.free_form,
]


@pytest.fixture(params=["stdio", "http"])
def server(request: pytest.FixtureRequest, http_server: Start) -> StdioServerParameters | str:
    """What ``mcp.Client`` connects to (a client is entered in the test's own task: anyio)."""
    if request.param == "stdio":
        return StdioServerParameters(command=COMMAND[0], args=COMMAND[1:], cwd=str(ROOT))
    return http_server(*COMMAND, "--http", "--port", "PORT")


async def test_lists_our_schemas_exactly(server: StdioServerParameters | str) -> None:
    async with Client(server) as client:
        listed = (await client.list_tools()).tools
    assert [t.name for t in listed] == [t.name for t in SERVED]  # remember needs agent_state
    for mine, theirs in zip(SERVED, listed, strict=True):
        assert theirs.description == mine.description
        assert theirs.input_schema == mine.openai_schema(strict=False)["function"]["parameters"]
        assert theirs.input_schema == mine.parameters
        strict = (theirs.meta or {}).get(STRICT_META)
        assert strict == mine.strict_parameters  # None for free_form: it cannot be strict


def text(result: CallToolResult) -> str:
    assert len(result.content) == 1
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def test_good_calls(server: StdioServerParameters | str) -> None:
    async with Client(server) as client:
        added = await client.call_tool("add", {"a": 40})
        shouted = await client.call_tool("shout", {"text": "hi", "times": 2})
        defaulted = await client.call_tool("add", {"a": 1, "b": None})  # null: the default
    assert (added.is_error, text(added)) == (False, "42")
    assert text(shouted) == "HI HI"
    assert text(defaulted) == "3"


BAD = [
    ("add", {"a": "x"}, "argument 'a'"),
    ("add", {}, "missing"),
    ("add", {"a": 1, "c": 2}, "unknown argument"),
    ("explode", {"reason": "boom"}, "failed: RuntimeError: boom"),
    ("explode", {"reason": "tool-error"}, "the model should retry with another reason"),
    ("remember", {"note": "x"}, "unknown tool 'remember'"),
]


async def test_bad_calls_are_error_results(server: StdioServerParameters | str) -> None:
    async with Client(server) as client:
        for name, arguments, says in BAD:
            result = await client.call_tool(name, arguments)
            assert result.is_error, name
            assert says in text(result), (name, text(result))
        assert text(await client.call_tool("add", {"a": 1, "b": 1})) == "2"  # still serving


def test_command_line_refusals(tmp_path: object) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent._cli", "mcp", "serve", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    missing = run("no/such/file.py")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no such file: no/such/file.py"
    empty = run("toolkit._errors")
    assert empty.returncode == 2
    assert "no @tool to serve" in empty.stderr
