"""Per-call overhead of an MCP tool vs the same function as a local ``@tool``.

The same ``lookup`` function is called through ``Tool.ainvoke``: as a local ``@tool``, and as
an ``McpTool`` whose calls go to ``selfedit mcp serve`` over stdio and over streamable HTTP on
loopback (connection made before timing). One run; prints microseconds per call and the ratio.

    .venv/bin/python bench/mcp_calls.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from agent import AsyncClient
from toolkit import Tool, tool

ROOT = Path(__file__).parent.parent
SERVED = ROOT / "bench" / "_mcp_tools.py"


@tool
def lookup(key: str) -> str:
    """Look a fact up by its key.

    Args:
        key: The fact's key.
    """
    return {"capital": "Paris"}.get(key, "unknown")


async def per_call(subject: Tool[..., Any], calls: int) -> float:
    await subject.ainvoke({"key": "capital"})  # warm (connects, for an MCP tool)
    start = time.perf_counter()
    for _ in range(calls):
        result = await subject.ainvoke({"key": "capital"})
        assert result.content == "Paris", result.content
    return (time.perf_counter() - start) / calls * 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(port)


async def main(calls: int) -> None:
    serve = [sys.executable, "-m", "agent._cli", "mcp", "serve", str(SERVED)]
    port = free_port()
    http = subprocess.Popen([*serve, "--http", "--port", str(port)], cwd=ROOT)
    client = AsyncClient(":memory:")
    try:
        wait_for(port)
        await client.mcp_servers.create(name="stdio", command=serve[0], args=serve[1:])
        await client.mcp_servers.create(name="http", url=f"http://127.0.0.1:{port}/mcp")
        local = await per_call(lookup, calls)
        rows = [("local @tool", local)]
        for server in ("stdio", "http"):
            rows.append(
                (
                    f"MCP over {server}",
                    await per_call(client.registry.mcp.tool(server, "lookup"), calls),
                )
            )
        for label, micros in rows:
            print(f"{label:16} {micros:10.1f} us/call  {micros / local:8.1f}x")
    finally:
        await client.mcp_servers.disconnect()
        client.close()
        http.terminate()
        http.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main(parser.parse_args().calls))
