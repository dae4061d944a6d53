"""``/v1/tools/mcp/servers``: MCP servers, as ``letta_client`` 0.1.123's ``client.tools`` has them.

- ``list_mcp_servers()``: ``GET /v1/tools/mcp/servers`` (``mcp_servers.list``)
- ``add_mcp_server(request=...)``: ``PUT /v1/tools/mcp/servers`` (``mcp_servers.create``)
- ``list_mcp_tools_by_server(server)``: ``GET .../{server}/tools`` (``mcp_servers.list_tools``)
- ``add_mcp_tool(server, tool)``: ``POST .../{server}/{tool}`` (the tool, with its REST id)
- ``delete_mcp_server(server)``: ``DELETE .../{server}`` (``mcp_servers.delete``)

``add_mcp_tool`` stores nothing: an MCP tool's id (``tool-mcp-...``) names its server and
tool, so ``agents.tools.attach(agent_id, tool_id)`` and ``agents.create(tool_ids=[...])``
take it as they take any tool id. selfedit speaks streamable HTTP, not the older SSE
transport: an ``SseServerConfig``'s ``server_url`` is reached as a streamable HTTP endpoint.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from agent._errors import ConfigError, NotFoundError
from agent._mcp_source import McpServer
from agent.server._letta import JSON, tool_json
from agent.server._routes_agents import client_of

__all__ = ["router"]

router = APIRouter(prefix="/v1/tools/mcp/servers")


class ServerConfig(BaseModel):
    """``StdioServerConfig`` or ``SseServerConfig``, as ``add_mcp_server`` sends either."""

    model_config = ConfigDict(extra="ignore")

    server_name: str
    """The name to register it under."""
    type: str | None = None
    """``"stdio"``, ``"sse"`` or ``"streamable_http"`` (told by the other fields if left out)."""
    command: str | None = None
    """stdio: the command that starts it."""
    args: list[str] = []
    """stdio: the command's arguments."""
    env: dict[str, str | None] | None = None
    """stdio: environment variables (a ``None`` value is left out)."""
    server_url: str | None = None
    """HTTP: its endpoint."""
    custom_headers: dict[str, str] | None = None
    """HTTP: headers sent with every request (newer Letta clients' name for them)."""


def _config_json(server: McpServer) -> JSON:
    """A registration as Letta lists one (``env`` and headers included, as Letta does)."""
    if server.url is not None:
        return {
            "server_name": server.name,
            "type": "streamable_http",
            "server_url": server.url,
            "custom_headers": server.headers or None,
        }
    return {
        "server_name": server.name,
        "type": "stdio",
        "command": server.command,
        "args": list(server.args),
        "env": server.env or None,
    }


def _create_options(body: ServerConfig) -> dict[str, Any]:
    """``mcp_servers.create`` keywords for a request body (``ConfigError`` if it is wrong)."""
    known = {None, "stdio", "sse", "streamable_http"}
    if body.type not in known:
        raise ConfigError("add_mcp_server", [f"type {body.type!r} is not one of stdio, sse"])
    if body.type == "stdio" or (body.type is None and body.command is not None):
        env = {k: v for k, v in (body.env or {}).items() if v is not None}
        return {"command": body.command, "args": body.args, "env": env}
    return {"url": body.server_url, "headers": body.custom_headers}


@router.get("")
async def list_servers(request: Request) -> dict[str, JSON]:
    """``client.tools.list_mcp_servers()``: every registration, by name."""
    return {s.name: _config_json(s) for s in await client_of(request).mcp_servers.list()}


@router.put("")
async def add_server(request: Request, body: ServerConfig) -> list[JSON]:
    """``client.tools.add_mcp_server(request=...)``: register (or replace) a server.

    The server is contacted once to read its tools; one that cannot be reached is a 422 and
    nothing is stored. Answers every registration, as Letta does.
    """
    servers = client_of(request).mcp_servers
    await servers.create(name=body.server_name, **_create_options(body))
    return [_config_json(s) for s in await servers.list()]


@router.get("/{server}/tools")
async def list_server_tools(request: Request, server: str) -> list[JSON]:
    """``client.tools.list_mcp_tools_by_server(server)``: its tools, asked now."""
    tools = await client_of(request).mcp_servers.list_tools(server)
    return [
        {"name": t.remote, "description": t.description, "inputSchema": t.parameters} for t in tools
    ]


@router.post("/{server}/{tool}")
async def add_tool(request: Request, server: str, tool: str) -> JSON:
    """``client.tools.add_mcp_tool(server, tool)``: the tool, with the id agents attach it by.

    A tool the stored listing lacks is looked for again on the server (it may be new).
    """
    client = client_of(request)
    registered = await client.mcp_servers.retrieve(server)  # 404 for an unknown server
    if tool not in registered.tools:
        await client.mcp_servers.list_tools(server)  # the listing, read again and stored
        if tool not in (await client.mcp_servers.retrieve(server)).tools:
            raise NotFoundError(f"MCP server {server!r} has no tool {tool!r}")
    return tool_json(client.registry.mcp.tool(server, tool))  # a broken schema: 422


@router.delete("/{server}")
async def delete_server(request: Request, server: str) -> list[JSON]:
    """``client.tools.delete_mcp_server(server)``: the registrations left.

    Agents that had its tools lose them.
    """
    servers = client_of(request).mcp_servers
    await servers.delete(server)
    return [_config_json(s) for s in await servers.list()]
