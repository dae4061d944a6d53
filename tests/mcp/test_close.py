"""``AsyncClient.close()`` ends MCP connections, with no ``await ...disconnect()`` first."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from _mcp_paths import ROOT, SERVER

from agent import AsyncClient
from agent.testing import ScriptedModel


def stdio() -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(SERVER)], "cwd": str(ROOT)}


async def server_pid(client: AsyncClient) -> int:
    """Register the test server over stdio, connect, and ask it its process id."""
    await client.mcp_servers.create(name="facts", **stdio())
    tools = {t.remote: t for t in await client.mcp_servers.list_tools("facts")}
    return int((await tools["pid"].ainvoke({})).content)


async def exited(pid: int) -> None:
    """Return once process ``pid`` has exited (a pidfd becomes readable then)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # exited and reaped already
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(fd, done.set_result, None)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def running(pid: int) -> bool:
    try:
        os.close(os.pidfd_open(pid))
    except ProcessLookupError:
        return False
    return True


async def test_close_inside_the_loop_ends_the_server_process() -> None:
    client = AsyncClient(":memory:", model=ScriptedModel([]))
    pid = await server_pid(client)
    assert running(pid)
    client.close()  # sync, inside the running loop: the connection closes at its next turn
    await asyncio.wait_for(exited(pid), 15)
    await client.mcp_servers.disconnect()  # and the end of its closing, before the loop ends


def test_close_outside_the_loop_ends_the_server_process() -> None:
    loop = asyncio.new_event_loop()
    try:
        client = AsyncClient(":memory:", model=ScriptedModel([]))
        pid = loop.run_until_complete(server_pid(client))
        assert running(pid)
        client.close()  # the loop is not running: it is run until the connection closed
        assert not running(pid)
    finally:
        loop.close()


async def test_close_after_disconnect() -> None:
    client = AsyncClient(":memory:", model=ScriptedModel([]))
    pid = await server_pid(client)
    await client.mcp_servers.disconnect()
    assert not running(pid)
    client.close()  # nothing left to close
