"""MCP servers as tool sources: their stored registrations, and their tools as ``Tool`` objects.

A registration (``mcp_servers`` table) holds how to reach the server and the tools it listed
last. An agent refers to one of them as ``{"name": NAME, "id": None, "mcp": "SERVER/TOOL"}``,
where ``NAME`` is what the model calls it: the tool's own name, or ``SERVER__TOOL`` when that
name is taken (by a built-in or stored tool, or by a tool of another registered server) or is
not a valid OpenAI name. The name is chosen when the tool is attached and kept in the
reference, so it never changes under a running agent.

Loading an agent contacts nothing: the tool is built from the stored listing. The first call
connects (the MCP SDK is imported then, never by ``import agent``); a server that is down, an
MCP error or a timeout becomes a tool error the model reads, never a failed turn.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import stdlib_tools
from agent.store import Store
from toolkit import SchemaError, Tool, ToolError

if TYPE_CHECKING:
    from agent._mcp_connection import Config, Connections

__all__ = ["McpServer", "McpSource", "McpTool", "is_mcp_name"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_SERVER_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,32}$")
_BUILT_IN = frozenset(t.name for t in stdlib_tools.BASE_TOOLS) | frozenset(
    n for n in stdlib_tools.__all__ if isinstance(getattr(stdlib_tools, n), Tool)
)


@dataclass(frozen=True)
class McpServer:
    """A registered MCP server (what ``client.mcp_servers`` returns)."""

    name: str
    """The name it is registered under (tools are attached as ``"NAME/TOOL"``)."""
    command: str | None = None
    """stdio: the command that starts it."""
    args: tuple[str, ...] = ()
    """stdio: the command's arguments."""
    env: dict[str, str] = field(default_factory=dict)
    """stdio: environment variables added to the safe defaults the MCP SDK passes on."""
    cwd: str | None = None
    """stdio: the directory it starts in."""
    url: str | None = None
    """Streamable HTTP: its endpoint (``http://127.0.0.1:8000/mcp``)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Streamable HTTP: headers sent with every request (``Authorization``, ...)."""
    timeout: float = 60.0
    """Seconds a connection, a listing or a call may take."""
    tools: tuple[str, ...] = ()
    """The names of the tools it listed last."""

    def config(self) -> dict[str, Any]:
        """The stored JSON of how to reach it."""
        return {
            "command": self.command, "args": list(self.args), "env": self.env, "cwd": self.cwd,
            "url": self.url, "headers": self.headers, "timeout": self.timeout,
        }  # fmt: skip


class McpTool(Tool[..., Any]):
    """A tool of an MCP server, as an agent holds it: calls go to the server."""

    server: str
    """The registered server's name."""
    remote: str
    """The tool's name on the server (``name`` is what the model calls it)."""


def is_mcp_name(name: str) -> bool:
    """Whether ``name`` means a server's tool (``"server/tool"``; no tool name has a slash)."""
    return "/" in name


def _server(name: str, config: dict[str, Any], listing: list[dict[str, Any]]) -> McpServer:
    def strings(value: Any) -> dict[str, str]:
        ok = isinstance(value, dict)
        return {str(k): str(v) for k, v in value.items()} if ok else {}

    args = config.get("args")
    timeout = config.get("timeout")
    return McpServer(
        name,
        config.get("command") if isinstance(config.get("command"), str) else None,
        tuple(map(str, args)) if isinstance(args, list) else (),
        strings(config.get("env")),
        config.get("cwd") if isinstance(config.get("cwd"), str) else None,
        config.get("url") if isinstance(config.get("url"), str) else None,
        strings(config.get("headers")),
        float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 60.0,
        tuple(str(t.get("name")) for t in listing if isinstance(t, dict)),
    )


def _json(text: Any, empty: Any) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return empty
    return value if isinstance(value, type(empty)) else empty


def check(server: McpServer) -> list[str]:
    """Every problem with a registration (empty: fine)."""
    problems = []
    if not _SERVER_NAME.match(server.name):
        problems.append(f"name {server.name!r} must match {_SERVER_NAME.pattern}")
    if (server.command is None) == (server.url is None):
        problems.append("pass exactly one of command= (stdio) and url= (streamable HTTP)")
    if server.url is not None and not server.url.startswith(("http://", "https://")):
        problems.append(f"url {server.url!r} must start with http:// or https://")
    if server.command is None and (server.args or server.env or server.cwd):
        problems.append("args=, env= and cwd= are for a stdio server (command=)")
    if server.url is None and server.headers:
        problems.append("headers= are for a streamable HTTP server (url=)")
    if not server.timeout > 0:
        problems.append(f"timeout must be a positive number of seconds, got {server.timeout!r}")
    return problems


class McpSource:
    """Registered MCP servers in one store, their tools, and the connections to them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._connections: Connections | None = None

    # -- the registrations -------------------------------------------------------------

    def _row(self, name: str) -> tuple[McpServer, list[dict[str, Any]]] | None:
        row = self._store.db.execute(
            "SELECT config, tools FROM mcp_servers WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        listing = [t for t in _json(row[1], []) if isinstance(t, dict)]
        return _server(name, _json(row[0], {}), listing), listing

    def server(self, name: str) -> McpServer | None:
        """A registration by name, or ``None``."""
        found = self._row(name)
        return found[0] if found else None

    def servers(self) -> list[McpServer]:
        """Every registration, by name."""
        names = self._store.db.execute("SELECT name FROM mcp_servers ORDER BY name").fetchall()
        return [s for s in (self.server(str(r[0])) for r in names) if s is not None]

    def save(self, server: McpServer, listing: list[dict[str, Any]]) -> McpServer:
        """Write a registration and its tool listing (by name: a new one replaces the old)."""
        with self._store.transaction():
            self._store.db.execute(
                "INSERT INTO mcp_servers (name, config, tools, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET config = excluded.config, tools = "
                "excluded.tools, version = mcp_servers.version + 1",
                (server.name, json.dumps(server.config()), json.dumps(listing),
                 datetime.now(timezone.utc).isoformat()),
            )  # fmt: skip
        saved = self.server(server.name)
        assert saved is not None  # written just above
        return saved

    def delete(self, name: str) -> None:
        """Delete a registration and every agent's reference to its tools."""
        prefix = f"{name}/"
        store = self._store
        with store.transaction():
            for agent in store.agents():
                kept = [r for r in agent.tools if not str(_ref_mcp(r)).startswith(prefix)]
                if len(kept) != len(agent.tools):
                    store.update_agent(agent.id, tools=kept)
            store.db.execute("DELETE FROM mcp_servers WHERE name = ?", (name,))

    # -- the tools ---------------------------------------------------------------------

    def exposed_name(self, server: str, remote: str) -> str:
        """What the model calls ``remote`` of ``server``: its own name unless that is taken."""
        taken = set(_BUILT_IN) | {r.name for r in self._store.tools()}
        for other in self.servers():
            if other.name != server:
                taken |= set(other.tools)
        if _NAME.match(remote) and remote not in taken:
            return remote
        prefixed = re.sub(r"[^a-zA-Z0-9_-]", "_", f"{server}__{remote}")
        if len(prefixed) > 64:
            digest = hashlib.sha256(prefixed.encode()).hexdigest()[:8]
            prefixed = f"{prefixed[:55]}_{digest}"
        return prefixed

    def tool(self, server: str, remote: str, name: str | None = None) -> McpTool:
        """``remote`` of ``server`` as a ``Tool`` named ``name`` (default: ``exposed_name``).

        Raises:
            SchemaError: the server is not registered, does not list the tool, or lists it
                with a schema that is not a JSON schema of an object.
        """
        found = self._row(server)
        subject = f"MCP tool {server}/{remote}"
        if found is None:
            known = ", ".join(s.name for s in self.servers()) or "none"
            raise SchemaError(subject, [f"no MCP server is registered as {server!r} ({known})"])
        listing = {str(t.get("name")): t for t in found[1]}
        spec = listing.get(remote)
        if spec is None:
            tools = ", ".join(listing) or "none"
            problem = (
                f"server {server!r} does not list a tool {remote!r} (it lists: {tools}); "
                f"client.mcp_servers.list_tools({server!r}) reads its listing again"
            )
            raise SchemaError(subject, [problem])
        return self._build(server, remote, name or self.exposed_name(server, remote), spec)

    def _build(self, server: str, remote: str, name: str, spec: dict[str, Any]) -> McpTool:
        description = str(spec.get("description") or "") or (
            f"The tool {remote!r} of the MCP server {server!r}."
        )
        schema = spec.get("input_schema")
        if isinstance(schema, dict) and "properties" not in schema:
            schema = {**schema, "properties": {}}

        async def call(**arguments: Any) -> str:
            return await self.call(server, remote, arguments)

        made = McpTool.from_schema(
            {"name": name, "description": description, "parameters": schema}, call
        )
        assert isinstance(made, McpTool)
        made.server, made.remote = server, remote
        return made

    def tools(self, server: str) -> list[McpTool]:
        """Every tool of ``server`` in its stored listing (one with a broken schema skipped).

        Raises:
            SchemaError: no server is registered under that name.
        """
        found = self.server(server)
        if found is None:
            self.tool(server, "")  # raises, naming the registered servers
            return []
        made = []
        for remote in found.tools:
            try:
                made.append(self.tool(server, remote))
            except SchemaError:
                continue  # a schema that is not an object's: listed by list_tools' caller
        return made

    # -- the connections ---------------------------------------------------------------

    def connections(self) -> Connections:
        """The open connections (the MCP SDK is imported at the first use)."""
        if self._connections is None:
            # an optional dependency: imported when a server is first contacted
            module = importlib.import_module("agent._mcp_connection")
            self._connections = module.Connections()
        return self._connections

    def _config(self, server: McpServer) -> Config:
        module = importlib.import_module("agent._mcp_connection")
        config: Config = module.Config(
            server.name, server.command, server.args, tuple(sorted(server.env.items())),
            server.cwd, server.url, tuple(sorted(server.headers.items())), server.timeout,
        )  # fmt: skip
        return config

    async def listing(self, server: McpServer) -> list[dict[str, Any]] | str:
        """The server's tools, asked now; or why it could not answer."""
        try:
            found = await self.connections().list_tools(self._config(server))
        except ImportError as e:
            return f"MCP needs: pip install 'selfedit[mcp]' ({e})"
        return found if isinstance(found, list) else found.message

    async def call(self, server: str, remote: str, arguments: dict[str, Any]) -> str:
        """Call a server's tool: its text, or a ``ToolError`` the model reads."""
        registered = self.server(server)
        where = f"Error: MCP server {server!r}"
        if registered is None:
            raise ToolError(f"{where} is not registered any more: use another tool")
        try:
            answer = await self.connections().call(self._config(registered), remote, arguments)
        except ImportError as e:
            raise ToolError(f"{where}: MCP support is not installed ({e})") from None
        if not isinstance(answer, tuple):
            raise ToolError(
                f"{where}: {answer.message}; the tool {remote!r} may not have run. "
                "Try again later, or go on without it."
            )
        is_error, text = answer
        if is_error:
            raise ToolError(f"Error: tool {remote!r} failed on MCP server {server!r}: {text}")
        return text

    async def disconnect(self, name: str) -> None:
        """Close the connection to one server (a stdio server's process ends)."""
        if self._connections is not None:
            await self._connections.close(name)

    async def aclose(self) -> None:
        """Close every open connection."""
        if self._connections is not None:
            await self._connections.aclose()

    def close(self) -> None:
        """Close every open connection without awaiting: ``AsyncClient.close`` calls this.

        Called inside the connections' running loop, they close at its next turn (the stdio
        servers' processes end while it runs on); outside it, before this returns.
        """
        if self._connections is not None:
            self._connections.close_soon()


def _ref_mcp(ref: Any) -> str | None:
    value = ref.get("mcp") if isinstance(ref, dict) else None
    return value if isinstance(value, str) else None
