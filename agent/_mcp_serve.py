"""``selfedit mcp serve``: ``@tool`` functions offered to any MCP host (needs ``selfedit[mcp]``).

Each tool is listed with exactly the schema the OpenAI path sends when it is not strict
(``Tool.parameters``: defaults shown, optional parameters not required). The strict variant
is OpenAI's dialect (every parameter required, optional ones nullable); an MCP host talks to
models of every vendor, so it gets the plain JSON schema, and the strict one rides along in
``_meta["selfedit/strict_parameters"]`` for a host that wants it. Calls go through
``Tool.ainvoke``: bad arguments, a tool that raises or times out, an unknown name all come back
as ``isError`` results whose text tells the model what to fix; the server never crashes.

A tool with injected parameters (``agent_state``, ``Injected[T]``) needs a value only an agent
can supply, so it is not served (the command line says which were left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp.server import Server
from mcp.server.stdio import stdio_server

from toolkit import SchemaError, Tool

__all__ = ["mcp_server", "run_http", "run_stdio", "servable"]

STRICT_META = "selfedit/strict_parameters"
"""The ``_meta`` key holding a tool's strict (OpenAI structured outputs) schema."""


def servable(tools: Sequence[Tool[..., Any]]) -> tuple[list[Tool[..., Any]], list[Tool[..., Any]]]:
    """The tools an MCP host can call, and those it cannot (they need injected values)."""
    return [t for t in tools if not t.injected], [t for t in tools if t.injected]


def _listing(tool: Tool[..., Any]) -> types.Tool:
    strict = tool.strict_parameters
    meta = {STRICT_META: strict} if strict is not None else None
    return types.Tool(
        name=tool.name, description=tool.description, input_schema=tool.parameters, _meta=meta
    )


def _text(text: str, *, error: bool) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=error)


def mcp_server(tools: Sequence[Tool[..., Any]], name: str = "selfedit") -> Server[Any]:
    """An MCP server (the SDK's low-level ``Server``) offering ``tools``.

    Raises:
        SchemaError: tools need injected values, or share a name (each problem named).
    """
    by_name: dict[str, Tool[..., Any]] = {}
    problems = [f"tool {t.name!r} needs injected values {t.injected}" for t in tools if t.injected]
    for tool in tools:
        if by_name.setdefault(tool.name, tool) is not tool:
            problems.append(f"two tools are named {tool.name!r}")
    if problems:
        raise SchemaError(f"MCP server {name!r}", problems)
    listing = types.ListToolsResult(tools=[_listing(t) for t in by_name.values()])

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> Any:
        return listing

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> Any:
        tool = by_name.get(params.name)
        if tool is None:
            known = ", ".join(by_name) or "none"
            return _text(f"Error: unknown tool {params.name!r}; available: {known}", error=True)
        result = await tool.ainvoke(params.arguments or {})
        return _text(result.content, error=result.status == "error")

    return Server(name, on_list_tools=list_tools, on_call_tool=call_tool)


async def _stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def run_stdio(tools: Sequence[Tool[..., Any]]) -> None:
    """Serve ``tools`` on this process's stdin and stdout until the host closes them."""
    server = mcp_server(tools)
    anyio.run(_stdio, server)


def run_http(tools: Sequence[Tool[..., Any]], *, host: str, port: int) -> None:
    """Serve ``tools`` over streamable HTTP at ``http://HOST:PORT/mcp`` until interrupted."""
    app = mcp_server(tools).streamable_http_app(host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning")
