"""Per-call overhead of an MCP tool vs the same function as a local ``@tool``.

The same ``lookup`` function, as a local ``@tool`` and as an ``McpTool`` whose calls go to
``selfedit mcp serve`` over stdio and over streamable HTTP on loopback (connections made
before timing), measured two ways. One run; microseconds, and the ratio to the local tool.

1. Direct: ``Tool.ainvoke`` per call.
2. Through the engine: a scripted turn (a zero-latency ``FunctionModel``) whose first step
   calls ``lookup`` and whose second calls ``send_message``; the local tool is stored by
   reference (it runs in-process). "overhead" is the turn's time minus the local tool's turn.

    .venv/bin/python bench/mcp_calls.py [--calls N] [--turns N]
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

from _mcp_tools import lookup

from agent import AsyncClient, ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send
from toolkit import Tool

ROOT = Path(__file__).parent.parent
SERVED = ROOT / "bench" / "_mcp_tools.py"


def _reply(request: ModelRequest) -> ModelResponse:
    """Call the lookup tool (whatever it is named), then end the turn with its answer."""
    last = request.messages[-1]
    if last["role"] == "tool":
        return send(str(last["content"]))
    names = [t["function"]["name"] for t in request.tools if "function" in t]
    return call(next(n for n in names if n.endswith("lookup")), key="capital")


async def per_turn(client: AsyncClient, tools: list[str], turns: int) -> float:
    agent = await client.agents.create(tools=tools, include_base_tools=True)
    message = [{"role": "user", "content": "capital?"}]

    async def turn() -> None:
        reply = await client.agents.messages.create(agent_id=agent.id, messages=message)
        said = [m for m in reply.messages if m.message_type == "tool_return_message"]
        assert said[0].tool_return == "Paris", said

    await turn()  # warm (loads the agent)
    start = time.perf_counter()
    for _ in range(turns):
        await turn()
    return (time.perf_counter() - start) / turns * 1e6


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


def _print(title: str, rows: list[tuple[str, float]]) -> None:
    local = rows[0][1]
    print(title)
    for label, micros in rows:
        extra = f"  overhead {micros - local:9.1f} us" if "turn" in title else ""
        print(f"  {label:16} {micros:10.1f} us  {micros / local:8.1f}x{extra}")


async def main(calls: int, turns: int) -> None:
    serve = [sys.executable, "-m", "agent._cli", "mcp", "serve", str(SERVED)]
    port = free_port()
    http = subprocess.Popen([*serve, "--http", "--port", str(port)], cwd=ROOT)
    client = AsyncClient(":memory:", model=FunctionModel(_reply))
    try:
        wait_for(port)
        await client.mcp_servers.create(name="stdio", command=serve[0], args=serve[1:])
        await client.mcp_servers.create(name="http", url=f"http://127.0.0.1:{port}/mcp")
        direct = [("local @tool", await per_call(lookup, calls))]
        for server in ("stdio", "http"):
            subject = client.registry.mcp.tool(server, "lookup")
            direct.append((f"MCP over {server}", await per_call(subject, calls)))
        _print(f"direct ainvoke, {calls} calls, per call:", direct)
        stored = await client.tools.upsert_from_function(func=lookup)
        engine = [("local @tool", await per_turn(client, [stored.name], turns))]
        for server in ("stdio", "http"):
            engine.append(
                (f"MCP over {server}", await per_turn(client, [f"{server}/lookup"], turns))
            )
        _print(f"through the engine, {turns} two-step turns, per turn:", engine)
    finally:
        client.close()  # closes the MCP connections too
        http.terminate()
        http.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--turns", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.turns))
