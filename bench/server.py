"""``selfedit serve`` through the real letta_client over loopback HTTP, beside Letta's figures.

Starts ``selfedit serve`` (a real process, a fresh SQLite file, an instant stand-in model),
then times with ``letta_client`` 0.1.123: ``agents.create``, ``tools.upsert_from_function``
(a new tool, and an update of the same one), a one-step turn (``send_message`` at once) and a
three-step turn (two ``core_memory_append``, then ``send_message``). Each figure is the median
of many calls. Letta's figures are the issue's: Letta 0.6.54 on SQLite, same client, a stand-in
model answering in 1-4 ms.

    .venv/bin/python bench/server.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from letta_client import Letta

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


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "agent._cli", "serve", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen([*command, "--stand-in", "_server_model:model"], env=env)
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

    return {
        "agents.create": _median_ms(create, n),
        "tools.upsert_from_function (create)": _median_ms(upsert_new, n),
        "tools.upsert_from_function (update)": _median_ms(upsert_same, n),
        "one-step turn": _median_ms(one_step, n),
        "three-step turn": _median_ms(three_step, n),
    }


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


def main() -> None:
    n = int(os.environ.get("BENCH_N", "30"))
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        process = _start(Path(tmp) / "bench.db", port)
        try:
            idle = _rss_mib(process.pid)
            with httpx.Client(timeout=60) as http:
                figures = bench(Letta(base_url=f"http://127.0.0.1:{port}", httpx_client=http), n)
            busy = _rss_mib(process.pid)
        finally:
            process.terminate()
            process.wait(10)
    print(f"selfedit serve vs Letta 0.6.54, letta_client over loopback HTTP, median of {n}")
    print(f"{'operation':<40}{'selfedit ms':>12}{'Letta ms':>10}{'Letta/selfedit':>16}")
    for name, ms in figures.items():
        letta = LETTA_MS[name]
        print(f"{name:<40}{ms:>12.2f}{letta:>10.1f}{letta / ms:>15.1f}x")
    print(f"server RSS: {idle:.0f} MiB idle, {busy:.0f} MiB after the run (Letta: 228 MiB idle)")


if __name__ == "__main__":
    main()
