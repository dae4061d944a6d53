"""What a sandboxed tool call costs: the same memory-editing tool in-process and in a sandbox.

Each sandboxed call starts a new interpreter, rebuilds the tool from its stored source, edits a
memory block there and sends the edit back; the parent applies it through the checked path. The
rows below split that cost: a bare interpreter start, the child's start-up, and the whole call,
cold (a process started for the call), back to back (the spare started by the previous call is
still importing) and spaced as calls are after a model reply (the spare is ready).

    .venv/bin/python bench/sandbox.py [calls]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from agent import AsyncClient, Block, Memory, Sandbox
from agent._sandbox import _BOOT
from agent._state import AgentState
from toolkit import Tool

SOURCE = '''
def note(agent_state: "AgentState", text: str) -> str:
    """Append a note to the notes block.

    Args:
        text: The note.
    """
    block = agent_state.memory.get_block("notes")
    agent_state.memory.update_block_value("notes", block.value[-200:] + text)
    return "noted"
'''


def _median_ms(run: Callable[[], object], calls: int, pause: float = 0.0) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start - pause)
    return statistics.median(times) * 1000


def _start(*code: str) -> Callable[[], object]:
    sandbox = Sandbox()
    command = [sandbox.python, "-I", "-X", "utf8", "-c", *code]
    return lambda: subprocess.run(command, check=True, env={})


async def _tool(sandbox: Sandbox | None) -> tuple[Callable[[], Awaitable[object]], AsyncClient]:
    client = AsyncClient(":memory:")
    client.registry.sandbox = sandbox
    stored = await client.tools.upsert_from_function(func=Tool.from_source(SOURCE))
    tool = client.registry.by_id(stored.id)
    state = AgentState(name="bench", memory=Memory([Block(label="notes", limit=1000)]))

    async def call() -> object:
        result = await tool.ainvoke('{"text": "x"}', agent_state=state)
        assert result.ok, result.content
        return result

    return call, client


def main(calls: int = 20) -> None:
    """Print the median milliseconds of each step."""
    loop = asyncio.new_event_loop()
    rows = [
        ("interpreter start (python -I -c pass)", _median_ms(_start("pass"), calls)),
        ("child start-up (imports, no call)", _median_ms(_start(_IMPORTS), calls)),
    ]
    cases = [
        ("in-process call", None, 0.0),
        ("sandboxed, cold (warm=False)", Sandbox(warm=False), 0.0),
        ("sandboxed, back to back (warm)", Sandbox(), 0.0),
        ("sandboxed, 1 s apart (warm)", Sandbox(), 1.0),
    ]
    for label, sandbox, pause in cases:
        call, client = loop.run_until_complete(_tool(sandbox))
        loop.run_until_complete(call())  # warm: the in-process tool builds at its first call

        def once(call: Callable[[], Awaitable[object]] = call, pause: float = pause) -> None:
            time.sleep(pause)  # not timed: _median_ms times the call below only
            loop.run_until_complete(call())

        rows.append((label, _median_ms(once, calls, pause)))
        client.close()
    loop.close()
    print(f"median of {calls} calls, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for label, ms in rows:
        print(f"  {label:<40} {ms:9.3f} ms")


_IMPORTS = _BOOT.removesuffix("child()\n")  # the child's start-up, without a call

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
