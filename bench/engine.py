"""Engine overhead per step, and many agents at once.

1. Per-step overhead: a zero-latency FunctionModel that calls core_memory_append on every
   step except the last; 10 blocks; an agent with 200 in-context messages; SQLite on disk.
   Measured with 200 and with 5,000 stored messages (the step must not grow with history).
   Every step includes the freshness check (one query for the versions of the agent, its
   blocks and the tools) and a compare-and-set write of the edited block.
2. What the many-clients guarantees cost: the freshness check alone when nothing changed,
   and taking plus releasing the turn lease (once per turn).
3. 200 agents x 5 turns, a model that sleeps 20 ms per reply: total time against the
   latency-bound ideal (turns x steps x 20 ms, every agent in parallel). Beside it, the event
   loop's own floor (the same sleeps, nothing else) and a peer: pydantic-ai running the same
   replies with its FunctionModel and memory in a dict, saving nothing (the ``bench`` extra).

``per_step`` and ``many_agents`` take a database ``target`` (a PostgreSQL URL, say; a new
SQLite file by default): bench/postgres.py runs them on both backends side by side.
"""

from __future__ import annotations

import asyncio
import contextvars
import statistics
import tempfile
import time
from pathlib import Path

from agent import AsyncClient, ModelRequest, ModelResponse
from agent._history import Record
from agent.testing import FunctionModel, call, send

STEPS_PER_TURN = 5


def _model(latency: float = 0.0) -> FunctionModel:
    async def reply(request: ModelRequest) -> ModelResponse:
        if latency:
            await asyncio.sleep(latency)
        done = sum(1 for m in request.messages if m["role"] == "tool")
        if done % STEPS_PER_TURN == STEPS_PER_TURN - 1:
            return send("done")
        return call("core_memory_append", label="notes", content="x")

    return FunctionModel(reply)


async def _agent(client: AsyncClient, stored: int, in_context: int) -> str:
    blocks = [{"label": f"block{i}", "value": "v" * 200, "limit": 100_000} for i in range(9)]
    blocks.append({"label": "notes", "value": "", "limit": 1_000_000})
    state = await client.agents.create(memory_blocks=blocks)
    records = [Record("user" if i % 2 else "assistant", f"old message {i}") for i in range(stored)]
    store = client.store
    with store.transaction():
        store.add_messages(state.id, records)
        store.db.execute(
            "UPDATE messages SET in_context = 0 WHERE agent_id = ? AND seq NOT IN (SELECT seq "
            "FROM messages WHERE agent_id = ? ORDER BY seq DESC LIMIT ?)",
            (state.id, state.id, in_context),
        )
    client._live.pop(state.id, None)  # load it afresh: context from the database
    return state.id


async def per_step(stored: int, turns: int = 40, target: str | None = None) -> float:
    """Median milliseconds per step over ``turns`` turns of STEPS_PER_TURN steps."""
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(target or Path(tmp) / "bench.db", model=_model())
        agent_id = await _agent(client, stored, 200)
        times = []
        for _ in range(turns):
            live = client.live(agent_id)
            # hold the window at about 200 messages, cut before a user message as eviction
            # cuts (never between a call and its result)
            cut = len(live.context) - 200
            while 0 < cut < len(live.context) and live.context[cut].role != "user":
                cut += 1
            del live.context[: max(cut, 0)]
            start = time.perf_counter()
            response = await client.agents.messages.create(
                agent_id=agent_id, messages=[{"role": "user", "content": "go"}]
            )
            times.append((time.perf_counter() - start) / response.usage.step_count)
        client.close()
    return statistics.median(times) * 1000


async def guarantees(rounds: int = 2_000) -> tuple[float, float]:
    """(microseconds per freshness check with nothing changed, ms per lease take + release)."""
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(Path(tmp) / "bench.db", model=_model())
        agent_id = await _agent(client, 200, 200)
        live = client.live(agent_id)
        checks = []
        for _ in range(rounds):
            start = time.perf_counter()
            live.refresh(client.store, client.registry)
            checks.append(time.perf_counter() - start)
        leases = []
        for _ in range(rounds // 10):
            start = time.perf_counter()
            async with client.leases.hold(agent_id):
                pass
            leases.append(time.perf_counter() - start)
        client.close()
    return statistics.median(checks) * 1e6, statistics.median(leases) * 1e3


async def new_agents(client: AsyncClient, agents: int) -> list[str]:
    """Create ``agents`` agents with one empty ``notes`` block; their ids."""
    return [
        (await client.agents.create(memory_blocks=[{"label": "notes", "value": ""}])).id
        for _ in range(agents)
    ]


async def run_turns(client: AsyncClient, ids: list[str], turns: int) -> None:
    """``turns`` turns of each agent in ``ids``, every agent in parallel."""

    async def run(agent_id: str) -> None:
        for _ in range(turns):
            await client.agents.messages.create(
                agent_id=agent_id, messages=[{"role": "user", "content": "go"}]
            )

    await asyncio.gather(*(run(i) for i in ids))


async def many_agents(
    agents: int = 200, turns: int = 5, latency: float = 0.02, target: str | None = None
) -> tuple[float, float]:
    """(seconds taken, latency-bound ideal) for ``agents`` agents running ``turns`` turns each."""
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(target or Path(tmp) / "bench.db", model=_model(latency))
        ids = await new_agents(client, agents)
        start = time.perf_counter()
        await run_turns(client, ids, turns)
        elapsed = time.perf_counter() - start
        client.close()
    return elapsed, ideal(turns, latency)


async def loop_floor(agents: int = 200, turns: int = 5, latency: float = 0.02) -> float:
    """Seconds the event loop alone takes for the same waits: every model reply a bare sleep,
    no engine, no database. What is left of 1.5x the ideal after it is the engine's budget."""

    async def run() -> None:
        for _ in range(turns * STEPS_PER_TURN):
            await asyncio.sleep(latency)

    start = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(agents)))
    return time.perf_counter() - start


async def peer_many(agents: int = 200, turns: int = 5, latency: float = 0.02) -> float | None:
    """The same scenario on pydantic-ai (its FunctionModel, the same replies, a tool that edits
    an in-memory block): no database, no leases, history kept in a list. ``None`` when
    pydantic-ai is not installed (it comes with the ``bench`` extra)."""
    try:
        from pydantic_ai import Agent
        from pydantic_ai.messages import (
            ModelMessage,
            ModelResponse,
            TextPart,
            ToolCallPart,
            ToolReturnPart,
            UserPromptPart,
        )
        from pydantic_ai.models.function import AgentInfo
        from pydantic_ai.models.function import FunctionModel as PeerModel
    except ImportError:
        return None

    async def reply(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        await asyncio.sleep(latency)
        parts = [p for m in messages for p in getattr(m, "parts", ())]
        start = max(i for i, p in enumerate(parts) if isinstance(p, UserPromptPart))
        done = sum(1 for p in parts[start:] if isinstance(p, ToolReturnPart))
        if done == STEPS_PER_TURN - 1:  # the reply ends the run: five model calls a turn
            return ModelResponse(parts=[TextPart("done")])
        args = {"label": "notes", "content": "x"}
        return ModelResponse(parts=[ToolCallPart("core_memory_append", args)])

    peer: Agent[None, str] = Agent(PeerModel(reply))
    blocks: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("blocks")

    @peer.tool_plain
    def core_memory_append(label: str, content: str) -> str:
        """Append to a memory block.

        Args:
            label: The block.
            content: What to append.
        """
        memory = blocks.get()
        memory[label] = memory.get(label, "") + "\n" + content
        return "ok"

    async def run() -> None:
        blocks.set({"notes": ""})  # each agent runs in a task: a context of its own
        history: list[ModelMessage] = []
        for _ in range(turns):
            result = await peer.run("go", message_history=history)
            history = result.all_messages()

    start = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(agents)))
    return time.perf_counter() - start


def ideal(turns: int, latency: float) -> float:
    """The latency-bound ideal: every agent in parallel, only the model's latency counts."""
    return turns * STEPS_PER_TURN * latency


def main() -> None:
    print("\n## Engine (SQLite on disk, zero-latency FunctionModel, 10 blocks, 200 in context)\n")
    small, large = asyncio.run(per_step(200)), asyncio.run(per_step(5_000))
    print("| stored messages | ms per step (median) |")
    print("|---|---|")
    print(f"| 200 | {small:.3f} |")
    print(f"| 5,000 | {large:.3f} |")
    print(
        f"\nratio 5,000 / 200: {large / small:.2f}x (flat is 1.0x); target: at most 0.6 ms per step"
    )
    check, lease = asyncio.run(guarantees())
    print(
        f"\nfreshness check, nothing changed: {check:.1f} us"
        f" ({check / 1000 / small:.0%} of a step);"
        f" turn lease take + release: {lease:.3f} ms per turn"
        f" ({lease / (small * STEPS_PER_TURN):.0%} of a {STEPS_PER_TURN}-step turn)"
    )
    elapsed, ideal = asyncio.run(many_agents())
    floor = asyncio.run(loop_floor())
    steps = 200 * 5 * STEPS_PER_TURN
    print(
        f"\n200 agents x 5 turns, 20 ms per model reply: {elapsed:.2f} s; latency-bound ideal "
        f"{ideal:.2f} s; ratio {elapsed / ideal:.2f}x (target at most 1.5x)\n"
        f"the event loop alone (bare sleeps, no engine): {floor:.2f} s ({floor / ideal:.2f}x); "
        f"CPU left per step for 1.5x: {max(1.5 * ideal - floor, 0) / steps * 1e6:.0f} us; "
        f"the engine's time per step here: {(elapsed - floor) / steps * 1e6:.0f} us"
    )
    peer = asyncio.run(peer_many())
    if peer is not None:
        print(
            f"peer, same scenario: pydantic-ai (FunctionModel, memory in a dict, no database): "
            f"{peer:.2f} s ({peer / ideal:.2f}x ideal)"
        )


if __name__ == "__main__":
    main()
