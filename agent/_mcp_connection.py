"""Connections to MCP servers through the official SDK (``mcp.Client``), made at first use.

Only this module (and ``_mcp_serve``) imports the MCP SDK; ``_mcp_source`` imports it the
first time a server is contacted, so ``import agent`` never does.

Each connection lives in a task of its own: the SDK's client holds anyio cancel scopes that
must be entered and left by the same task, while calls come from whichever turn needs the
tool. A call that fails because the connection broke (the server died, a timeout) drops the
connection; the next call opens a new one. Everything that can go wrong comes back as a
``Failure`` with a message for the model; nothing here raises into a turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

__all__ = ["Connections", "Failure"]

logger = logging.getLogger("selfedit.mcp")
CONNECT_TIMEOUT = 30.0
"""Seconds a connection may take at least (a stdio server starts a process first)."""


@dataclass(frozen=True)
class Failure:
    """Why a server could not answer (the model reads ``message``)."""

    message: str


@dataclass(frozen=True)
class Config:
    """How to reach one server (read from its stored registration)."""

    name: str
    command: str | None
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    cwd: str | None
    url: str | None
    headers: tuple[tuple[str, str], ...]
    timeout: float


def _describe(error: BaseException) -> str:
    inner = getattr(error, "exceptions", None)  # an exception group: its first member
    if isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        return _describe(inner[0])
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class _Connection:
    """One open ``mcp.Client``, owned by its own task until ``close``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.client: Client | None = None
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self.task = asyncio.create_task(self._run(), name=f"mcp:{config.name}")

    async def _run(self) -> None:
        config = self.config
        try:
            async with contextlib.AsyncExitStack() as stack:
                if config.url is not None:
                    http = httpx2.AsyncClient(
                        headers=dict(config.headers), timeout=httpx2.Timeout(30.0, read=None)
                    )
                    await stack.enter_async_context(http)
                    target: Any = streamable_http_client(config.url, http_client=http)
                else:
                    target = StdioServerParameters(
                        command=config.command or "", args=list(config.args),
                        env=dict(config.env) or None, cwd=config.cwd,
                    )  # fmt: skip
                self.client = await stack.enter_async_context(Client(target))
                self._ready.set()
                await self._stop.wait()
        except Exception as e:  # the server's failure: reported to the caller, never raised
            self.error = e
            logger.info("MCP server %r: connection ended: %s", config.name, _describe(e))
        finally:
            self.client = None
            self._ready.set()

    async def ready(self) -> Client | Failure:
        """The connected client, or why there is none."""
        patience = max(self.config.timeout, CONNECT_TIMEOUT)
        try:
            await asyncio.wait_for(self._ready.wait(), patience)
        except asyncio.TimeoutError:
            await self.close()
            return Failure(f"could not connect within {patience:g}s")
        if self.client is None:
            reason = _describe(self.error) if self.error else "the connection closed"
            return Failure(f"could not connect ({reason})")
        return self.client

    @property
    def alive(self) -> bool:
        return not self.task.done() and asyncio.get_running_loop() is self.loop

    def stop(self) -> None:
        """Ask the connection to close, from any thread, without waiting while its loop runs.

        A running loop closes it at its next turn; a loop that is not running is run until
        it has; a closed loop ended it already (``asyncio.run`` cancels what is left).
        """
        if self.loop.is_closed():
            return
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self._stop.set)
        else:
            with contextlib.suppress(RuntimeError):  # another loop runs in this thread
                self.loop.run_until_complete(self.close())

    async def close(self) -> None:
        """Leave the client (ending a stdio server's process) and wait for it."""
        self._stop.set()
        if asyncio.get_running_loop() is self.loop:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.task), 10)
            if not self.task.done():
                self.task.cancel()


class Connections:
    """The open connections of one client, by server name; each made at its first use."""

    def __init__(self) -> None:
        self._open: dict[str, _Connection] = {}
        self._closing: set[_Connection] = set()  # asked to close by close_soon, not yet done

    async def _client(self, config: Config) -> Client | Failure:
        found = self._open.get(config.name)
        if found is None or found.config != config or not found.alive:
            if found is not None:
                await found.close()
            found = self._open[config.name] = _Connection(config)
        ready = await found.ready()
        if isinstance(ready, Failure):
            self._open.pop(config.name, None)
        return ready

    async def _drop(self, config: Config) -> None:
        found = self._open.pop(config.name, None)
        if found is not None:
            await found.close()

    async def list_tools(self, config: Config) -> list[dict[str, Any]] | Failure:
        """The server's tools (every page): name, description and input schema of each."""
        client = await self._client(config)
        if isinstance(client, Failure):
            return client
        tools: list[types.Tool] = []
        cursor: str | None = None
        try:
            with anyio.fail_after(config.timeout):
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools += page.tools
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        except Exception as e:  # the server's failure becomes a message
            await self._drop(config)
            return Failure(f"listing its tools failed ({_describe(e)})")
        return [
            {"name": t.name, "description": t.description or "", "input_schema": t.input_schema}
            for t in tools
        ]

    async def call(
        self, config: Config, tool: str, arguments: dict[str, Any]
    ) -> tuple[bool, str] | Failure:
        """``(is_error, text)`` of one call, or why the server could not answer."""
        client = await self._client(config)
        if isinstance(client, Failure):
            return client
        try:
            with anyio.fail_after(config.timeout):
                result = await client.call_tool(tool, arguments)
        except TimeoutError:
            await self._drop(config)  # a late answer must not be read as the next call's
            return Failure(f"no answer within {config.timeout:g}s")
        except Exception as e:  # an MCP error, or the connection broke: a message for the model
            await self._drop(config)
            return Failure(f"the call failed ({_describe(e)})")
        return result.is_error, render(result)

    async def close(self, name: str) -> None:
        """Close the connection to one server, if there is one."""
        found = self._open.pop(name, None)
        if found is not None:
            await found.close()

    async def aclose(self) -> None:
        """Close every connection (stdio servers' processes end)."""
        for name in list(self._open):
            await self.close(name)
        while self._closing:
            await self._closing.pop().close()

    def close_soon(self) -> None:
        """Ask every connection to close, without awaiting (see ``_Connection.stop``).

        Those still closing are kept, so that ``aclose`` can wait for them.
        """
        for name in list(self._open):
            connection = self._open.pop(name)
            connection.stop()
            if not connection.task.done():
                self._closing.add(connection)


def render(result: types.CallToolResult) -> str:
    """A call's content as text for the model: text as is, a note for anything else."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type} content ({block.mime_type}) not shown: text only]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[a link to resource {block.uri}]")
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[binary resource {resource.uri}]")
        else:
            parts.append(f"[{getattr(block, 'type', 'unknown')} content not shown: text only]")
    if not parts and result.structured_content is not None:
        parts.append(str(result.structured_content))
    return "\n".join(parts)
