"""Instructions per engine step, for an A/B of two checkouts that no noise can move.

``valgrind --tool=callgrind`` counts instructions, not seconds: the same total on a loaded
machine as on an idle one. Each checkout runs ``AGENTS`` agents at once (bench/engine.py's
model at zero latency: four ``core_memory_append`` steps, then ``send_message``; SQLite on
disk) for ``T1`` and for ``T2`` turns; the difference over the steps between is the cost of a
step, start-up and agent creation cancelled out::

    git worktree add /tmp/base 4eb5605
    .venv/bin/python bench/engine_callgrind.py /tmp/base,. 200 1 2

prints one line per checkout. Hashing is seeded (``PYTHONHASHSEED=0``): with random seeds the
same checkout's count moved by several percent between runs. About 10 minutes for 200 agents
on a 2-core machine; ``1 2 22`` (one agent, 100 steps) takes about 5.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

STEPS_PER_TURN = 5

RUN = """
import asyncio, sys, tempfile
from pathlib import Path
sys.path[:0] = [{root!r}, {bench!r}]
import engine
from agent import AsyncClient

async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(Path(tmp) / "b.db", model=engine._model(0.0))
        ids = await engine.new_agents(client, {agents})
        await engine.run_turns(client, ids, {turns})
        client.close()

asyncio.run(main())
"""


def instructions(root: Path, agents: int, turns: int) -> int:
    """Instructions of one run of ``agents`` x ``turns`` with the checkout at ``root``."""
    code = RUN.format(root=str(root), bench=str(root / "bench"), agents=agents, turns=turns)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c",
         code],
        capture_output=True, text=True, check=True, cwd=root,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same hashes, so the same work
    )  # fmt: skip
    found = re.search(r"Collected : ([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(found[1].replace(",", ""))


def main() -> None:
    roots, agents, first, second = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:5])
    steps = agents * (second - first) * STEPS_PER_TURN
    for root in (Path(r).resolve() for r in roots.split(",")):
        per_step = (instructions(root, agents, second) - instructions(root, agents, first)) / steps
        print(f"{root}: {per_step:,.0f} instructions per step ({agents} agents)", flush=True)


if __name__ == "__main__":
    main()
