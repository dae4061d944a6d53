"""``selfedit serve`` through the real letta_client over loopback HTTP, beside Letta's figures.

Starts ``selfedit serve`` (a real process, a fresh SQLite file, an instant stand-in model),
then times with ``letta_client`` 0.1.123: ``agents.create``, ``tools.upsert_from_function``
(a new tool, and an update of the same one), a one-step turn (``send_message`` at once) and a
three-step turn (two ``core_memory_append``, then ``send_message``). Each figure is the median
of many calls. Letta's figures are the issue's: Letta 0.6.54 on SQLite, same client, a stand-in
model answering in 1-4 ms.

Then many agents at once: a second server with ``--workers 2`` and a stand-in that takes 20 ms
per reply (``_server_model:paced``, five steps a turn); 200 agents, each running 5 turns one
after another, all agents at the same time, over HTTP (a minimal keep-alive client, one
connection per agent). The latency-bound ideal is the time one agent's turns take if only the
model's latency counted (5 turns x 5 steps x 20 ms = 0.5 s); the target is at most 1.5x that.

    BENCH_N=20 .venv/bin/python bench/server.py   (BENCH_AGENTS, BENCH_TURNS: the second part;
    BENCH_MANY=0 skips it)

The first row, the floor, is the cheapest request there is (``health.check``): HTTP, the
client and FastAPI, nothing of selfedit's; "- floor" is what is left of each operation.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from _server_model import LATENCY, STEPS_PER_TURN
from letta_client import Letta
from letta_client.core.unchecked_base_model import construct_type
from letta_client.types import AgentState

HERE = Path(__file__).parent
LETTA_MS = {
    "agents.create": 67.7,
    "tools.upsert_from_function (create)": 13.0,
    "tools.upsert_from_function (update)": 9.2,
    "one-step turn": 195.8,
    "three-step turn": 705.6,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(
    db: Path, port: int, stand_in: str = "_server_model:model", *extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "agent._cli", "serve", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen([*command, "--stand-in", stand_in, *extra], env=env)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")


def _median_ms(run: Callable[[int], object], n: int) -> float:
    run(-1)  # warm-up
    times = []
    for i in range(n):
        start = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(client: Letta, n: int) -> dict[str, float]:
    """Median milliseconds per operation."""
    blocks = [{"label": "human", "value": "Name: Bob"}, {"label": "persona", "value": "Helpful"}]

    def create(i: int) -> object:
        return client.agents.create(memory_blocks=blocks, model="openai/gpt-4o-mini")

    def upsert_new(i: int) -> object:
        return client.tools.upsert_from_function(func=_as_source(i + 1))

    def upsert_same(i: int) -> object:
        return client.tools.upsert_from_function(func=_as_source(0))

    agent = create(0).id  # type: ignore[attr-defined]

    def one_step(i: int) -> object:
        return client.agents.messages.create(
            agent_id=agent, messages=[{"role": "user", "content": "hi"}]
        )

    def three_step(i: int) -> object:
        return client.agents.messages.create(
            agent_id=agent, messages=[{"role": "user", "content": "three-step"}]
        )

    def floor(i: int) -> object:
        return client.health.check()

    return {
        "floor: health.check": _median_ms(floor, n),
        "agents.create": _median_ms(create, n),
        "tools.upsert_from_function (create)": _median_ms(upsert_new, n),
        "tools.upsert_from_function (update)": _median_ms(upsert_same, n),
        "one-step turn": _median_ms(one_step, n),
        "three-step turn": _median_ms(three_step, n),
    }


def client_parse(http: httpx.Client, base: str, n: int) -> float:
    """Median ms letta_client takes to build the ``AgentState`` of a new agent from its JSON.

    Part of ``agents.create``'s time that no server can save (the client builds every nested
    model, and tries each tool rule type in turn).
    """
    blocks = [{"label": "human", "value": "Name: Bob"}, {"label": "persona", "value": "Helpful"}]
    body = {"memory_blocks": blocks, "model": "openai/gpt-4o-mini"}
    data = http.post(f"{base}/v1/agents/", json=body).json()
    return _median_ms(lambda i: construct_type(type_=AgentState, object_=data), n)


_FUNCTIONS: dict[int, Callable[..., object]] = {}


def _as_source(i: int) -> Callable[..., object]:
    """A function whose source inspect can read (written to a file, then imported)."""
    found = _FUNCTIONS.get(i)
    if found is None:
        path = Path(tempfile.gettempdir()) / f"selfedit_bench_tool_{os.getpid()}_{i}.py"
        path.write_text(
            f"def double_{i}(x: int):\n    '''Double a number.\n\n    Args:\n        x: the"
            " number\n    '''\n    return 2 * x\n"
        )
        namespace: dict[str, object] = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        found = _FUNCTIONS[i] = namespace[f"double_{i}"]  # type: ignore[assignment]
    return found


class _Connection:
    """One keep-alive HTTP/1.1 connection, as little client as possible.

    The load comes from one process on the same machine as the server; httpx's async client
    spends more CPU per request with 200 connections open than the server does, so it would
    measure itself. (Each real client is a process or host of its own.)
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> _Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: object) -> tuple[int, Any]:
        data = json.dumps(body).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        self.writer.write(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        size = next(int(h[15:]) for h in lines if h.lower().startswith(b"content-length:"))
        return int(lines[0].split()[1]), json.loads(await self.reader.readexactly(size))

    def close(self) -> None:
        self.writer.close()


async def many_agents(port: int, agents: int, turns: int) -> tuple[float, int]:
    """(seconds, turns that failed) for ``agents`` agents x ``turns`` turns, all at once."""
    connections = [await _Connection.open(port) for _ in range(agents)]
    body = {"memory_blocks": [{"label": "notes", "value": "", "limit": 1_000_000}]}
    ids = [(await c.post("/v1/agents/", body))[1]["id"] for c in connections]
    failed = 0

    async def run(connection: _Connection, agent_id: str) -> None:
        nonlocal failed
        for _ in range(turns):
            turn = {"messages": [{"role": "user", "content": "go"}]}
            status, reply = await connection.post(f"/v1/agents/{agent_id}/messages", turn)
            failed += status != 200 or reply["messages"][-1]["message_type"] != "assistant_message"

    start = time.perf_counter()
    await asyncio.gather(*(run(c, i) for c, i in zip(connections, ids, strict=True)))
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return elapsed, failed


def _many(tmp: Path, agents: int, turns: int) -> tuple[float, int]:
    port = _free_port()
    process = _start(tmp / "many.db", port, "_server_model:paced", "--workers", "2")
    try:
        return asyncio.run(many_agents(port, agents, turns))
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    n = int(os.environ.get("BENCH_N", "30"))
    agents = int(os.environ.get("BENCH_AGENTS", "200"))
    turns = int(os.environ.get("BENCH_TURNS", "5"))
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        process = _start(Path(tmp) / "bench.db", port)
        try:
            idle = _rss_mib(process.pid)
            with httpx.Client(timeout=60) as http:
                figures = bench(Letta(base_url=f"http://127.0.0.1:{port}", httpx_client=http), n)
                parse = client_parse(http, f"http://127.0.0.1:{port}", n)
            busy = _rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(10)
        many = _many(Path(tmp), agents, turns) if os.environ.get("BENCH_MANY") != "0" else None
    print(f"selfedit serve vs Letta 0.6.54, letta_client over loopback HTTP, median of {n}")
    floor = figures["floor: health.check"]
    print(f"{'operation':<40}{'selfedit ms':>12}{'- floor':>9}{'Letta ms':>10}{'Letta/ours':>12}")
    for name, ms in figures.items():
        letta = LETTA_MS.get(name)
        ours = f"{ms - floor:>9.2f}" if letta else f"{'':>9}"
        versus = f"{letta:>10.1f}{letta / ms:>11.1f}x" if letta else ""
        print(f"{name:<40}{ms:>12.2f}{ours}{versus}")
    print(f"letta_client's own parse of the agent agents.create answers (no HTTP): {parse:.2f} ms")
    print(f"server RSS: {idle:.0f} MiB idle, {busy:.0f} MiB after the run (Letta: 228 MiB idle)")
    if many is None:
        return
    elapsed, failed = many
    ideal = turns * STEPS_PER_TURN * LATENCY
    print(
        f"\n{agents} agents x {turns} turns at once over HTTP, --workers 2, "
        f"{LATENCY * 1000:.0f} ms per model reply, {STEPS_PER_TURN} steps a turn:\n"
        f"  {elapsed:.2f} s, latency-bound ideal {ideal:.2f} s: {elapsed / ideal:.1f}x "
        f"(target <= 1.5x); {failed} turns failed; "
        f"{agents * turns / elapsed:.0f} turns/s, {agents * turns * STEPS_PER_TURN / elapsed:.0f}"
        " steps/s"
    )


if __name__ == "__main__":
    main()
