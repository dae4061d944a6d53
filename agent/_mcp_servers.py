"""``client.mcp_servers``: register MCP servers, list their tools, give them to agents.

```python
client.mcp_servers.create(name="files", command="python", args=["files_server.py"])
client.mcp_servers.create(name="search", url="http://127.0.0.1:8000/mcp")
client.agents.create(tools=["files/read_file"])           # one tool, at create time
client.mcp_servers.attach(agent_id, "search")             # every tool of a server, later
```

Registrations are stored; connections are made at the first call, and again after a restart
or after the server went away (see ``_mcp_source``).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from agent._errors import ConfigError, NotFoundError
from agent._mcp_source import McpServer, McpTool, check
from agent._state import AgentState
from toolkit import SchemaError

if TYPE_CHECKING:
    from agent._client import AsyncClient

__all__ = ["McpServers"]


class McpServers:
    """``client.mcp_servers``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._source = client.registry.mcp

    async def create(
        self,
        *,
        name: str,
        command: str | None = None,
        args: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> McpServer:
        """Register a server (stdio: ``command``; streamable HTTP: ``url``) and list its tools.

        The server is contacted once, to read its tools; registering a name again replaces
        that registration (agents keep the tools they had under their names). ``env`` and
        ``headers`` are stored in the database (created private, 0600).

        Raises:
            ConfigError: the arguments are wrong, or the server could not be reached (nothing
                is stored then).
        """
        server = McpServer(
            name, command, tuple(args), dict(env or {}), cwd, url, dict(headers or {}),
            timeout,
        )  # fmt: skip
        problems = check(server)
        if problems:
            raise ConfigError("mcp_servers.create", problems)
        listing = await self._source.listing(server)
        if isinstance(listing, str):
            raise ConfigError(f"MCP server {name!r}", [listing])
        return self._source.save(server, listing)

    async def list(self) -> list[McpServer]:
        """Every registered server."""
        return self._source.servers()

    async def retrieve(self, name: str) -> McpServer:
        """One registered server.

        Raises:
            NotFoundError: none is registered under ``name``.
        """
        found = self._source.server(name)
        if found is None:
            raise NotFoundError(f"no MCP server is registered as {name!r}")
        return found

    async def list_tools(self, name: str) -> builtins.list[McpTool]:
        """The server's tools, asked now (the stored listing is updated), as ``Tool`` objects.

        Each is named as an agent would get it (``SERVER__TOOL`` when its own name is taken),
        with the server's schema; ``strict_reason`` says why one cannot be strict.

        Raises:
            NotFoundError: no such server.
            ConfigError: it could not be reached.
        """
        server = await self.retrieve(name)
        listing = await self._source.listing(server)
        if isinstance(listing, str):
            raise ConfigError(f"MCP server {name!r}", [listing])
        self._source.save(server, listing)
        return self._source.tools(name)

    async def attach(
        self, agent_id: str, name: str, *, tools: Iterable[str] | None = None
    ) -> AgentState:
        """Give an agent tools of a server: those named in ``tools``, or all of them.

        A tool the agent has already is kept as it is. Never waits for a running turn.

        Raises:
            NotFoundError: no such agent or server.
            ConfigError: a named tool is not listed, or the agent has another tool of its name.
        """
        server = await self.retrieve(name)
        wanted = builtins.list(server.tools if tools is None else tools)
        client, problems = self._client, builtins.list[str]()
        made: builtins.list[McpTool] = []
        for remote in wanted:
            try:
                made.append(self._source.tool(name, remote))
            except SchemaError as e:
                problems.append(str(e))
        with client.store.transaction():
            refs: builtins.list[dict[str, Any]] = builtins.list(client.row(agent_id).tools)
            for tool in made:
                ref = client.registry.ref(tool)
                same = [r for r in refs if isinstance(r, dict) and r.get("name") == tool.name]
                if same and same[0] != ref:
                    problems.append(f"agent {agent_id!r} has another tool named {tool.name!r}")
                elif not same:
                    refs.append(ref)
            if problems:
                raise ConfigError("mcp_servers.attach", problems)
            client.store.update_agent(agent_id, tools=refs)
        return client.load(agent_id)

    async def delete(self, name: str) -> None:
        """Unregister a server; agents that had its tools lose them (from their next step on).

        Raises:
            NotFoundError: no such server.
        """
        await self.retrieve(name)
        self._source.delete(name)
        await self._source.disconnect(name)

    async def disconnect(self) -> None:
        """Close every open connection (stdio servers' processes end); the next call reopens.

        ``client.close()`` closes them too, without awaiting; await this to know they have.
        """
        await self._source.aclose()
