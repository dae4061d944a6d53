"""A long conversation in a small window: the cost of a step must stay flat.

5,000 turns (over 10,000 stored messages: each turn stores the user message, the
send_message call and its receipt) through an agent with a 4,000-token window, SQLite on
disk, and a zero-latency FunctionModel that also plays the summarizer. Reports the time per
turn and the estimated prompt size early on and at the end.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent import AsyncClient, ModelRequest, ModelResponse
from agent.testing import FunctionModel, send

TURNS = 5_000
WINDOW = 4_000


def _reply(request: ModelRequest) -> ModelResponse:
    if not request.tools:  # the summarizer
        return ModelResponse(text="The user has been sending numbered notes; all were answered.")
    return send("Noted.")


async def run() -> tuple[list[float], list[int], int]:
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(Path(tmp) / "context.db", model=FunctionModel(_reply))
        state = await client.agents.create(
            memory_blocks=[{"label": "human", "value": "Name: Bob"}],
            include_base_tools=False,
            tools=["send_message", "conversation_search"],
            context_window_limit=WINDOW,
        )
        times, prompts = [], []
        for i in range(TURNS):
            start = time.perf_counter()
            await client.agents.messages.create(
                agent_id=state.id,
                messages=[{"role": "user", "content": f"note {i}: remember the number {i * 7}"}],
            )
            times.append(time.perf_counter() - start)
            prompts.append((await client.agents.context.retrieve(state.id)).total_tokens)
        stored = client.store.count_messages(state.id)
        client.close()
    return times, prompts, stored


def main() -> None:
    times, prompts, stored = asyncio.run(run())
    early = statistics.median(times[40:60]) * 1000  # around turn 50
    late = statistics.median(times[-20:]) * 1000  # the last turns
    print(f"\n## Context window ({stored:,} stored messages, {WINDOW:,}-token window)\n")
    print("| | ms per turn (median of 20) | prompt tokens (max) |")
    print("|---|---|---|")
    print(f"| around turn 50 | {early:.3f} | {max(prompts[40:60])} |")
    print(f"| around turn {TURNS:,} (message {stored:,}) | {late:.3f} | {max(prompts[-20:])} |")
    print(f"\nlate / early: {late / early:.2f}x (flat is 1.0x); largest prompt over the whole run: "
          f"{max(prompts)} tokens of {WINDOW} ({100 * max(prompts) / WINDOW:.0f}%)")  # fmt: skip


if __name__ == "__main__":
    main()
