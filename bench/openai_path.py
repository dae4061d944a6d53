"""The real request path: ``OpenAIModel`` against a local OpenAI-compatible server.

A stand-in server (``_standin.py``) runs in a child process on loopback. Everything below is
measured in one run, side by side, so the ratios hold on a noisy machine:

1. Per step (one model call), with 10, 100 and 300 messages in context and 8 tools:
   - ``OpenAIModel.complete``: the body it builds, through the openai client's low-level
     ``post`` (what selfedit ships; also with ``stream=True``);
   - the SDK's ``chat.completions.create`` with the same body, its reply read the same way
     (what selfedit did before, and what peers built on it do);
   - the floor: raw httpx (the client the openai SDK uses), ``json.dumps`` of the same body,
     ``json.loads`` of the reply.
   Contenders take turns, batch by batch; each figure is the median batch's ms per call.
2. 200 agents x 5 turns (5 steps a turn), 20 ms model latency: a ``FunctionModel`` that sleeps,
   then the same over HTTP (the stand-in sleeps) with ``OpenAIModel`` and with the raw-httpx
   floor, against the latency-bound ideal (turns x steps x 20 ms, every agent in parallel).
   (The SDK-create path is left out here: on a 2-core machine it took over two minutes.)
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import openai
from _standin import STEPS_PER_TURN, StandIn

from agent import (
    AsyncClient,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelToolCall,
    ModelUsage,
    OpenAIModel,
)
from agent._openai_reply import read_completion
from agent.testing import FunctionModel, call, send
from stdlib_tools import BASE_TOOLS, task_queue_pop, task_queue_push

SIZES = (10, 100, 300)
LATENCY = 0.02
REPEATS = 2
Call = Callable[[], Awaitable[Any]]


class CreateModel(OpenAIModel):
    """``OpenAIModel`` as it was: the same body, through ``chat.completions.create``."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Send ``request`` with ``chat.completions.create``; read the reply as before."""
        try:
            reply = await self.client.chat.completions.create(**self.body(request))
        except openai.APIError as e:
            raise ModelError(f"{self.name}: {e.message}") from e
        choice = reply.choices[0]
        calls = [
            ModelToolCall(c.function.name, c.function.arguments or "", c.id)
            for c in choice.message.tool_calls or ()
            if c.type == "function"
        ]
        usage = ModelUsage(
            reply.usage.prompt_tokens if reply.usage else 0,
            reply.usage.completion_tokens if reply.usage else 0,
        )
        return ModelResponse(choice.message.content, calls, usage, choice.finish_reason)


def context(size: int) -> ModelRequest:
    """A request like an agent's: a system prompt with memory, then ``size - 1`` messages."""
    system = "You are Sam, a helpful companion with a memory you edit yourself.\n" * 30
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    n = 0
    while len(messages) < size:
        n += 1
        messages.append({"role": "user", "content": f"Message {n}: tell me about topic {n}."})
        arguments = json.dumps({"message": f"Here is what I know about topic {n}. " * 4})
        tool_call = {"name": "send_message", "arguments": arguments}
        calls = [{"id": f"call_{n}", "type": "function", "function": tool_call}]
        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
        messages.append({"role": "tool", "tool_call_id": f"call_{n}", "content": "None"})
    tools = [t.openai_schema() for t in [*BASE_TOOLS, task_queue_push, task_queue_pop]]
    return ModelRequest(messages[:size], tools)


class FloorModel:
    """The floor, raw httpx: serialize the body, post it, read the reply. Nothing else.

    Same HTTP client library and connection limits as the openai client, and the same bytes.
    """

    def __init__(self, base_url: str) -> None:
        self.name = "floor/standin"
        self.http = httpx2.AsyncClient(
            base_url=base_url,
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self._shape = OpenAIModel("openai/standin")
        self._headers = {"content-type": "application/json", "authorization": "Bearer bench"}

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Post ``request`` as ``OpenAIModel`` would, with nothing in between."""
        body = json.dumps(self._shape.body(request), ensure_ascii=False, separators=(",", ":"))
        response = await self.http.post(
            "chat/completions", content=body.encode(), headers=self._headers
        )
        return read_completion(self.name, response.content)

    async def close(self) -> None:
        """Close the connections."""
        await self.http.aclose()


async def interleaved(
    contenders: dict[str, Call], rounds: int, calls: int
) -> dict[str, tuple[float, float]]:
    """{contender: (wall ms, client CPU ms) per call}, medians of batches taken in turns."""
    wall: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():  # warm-up: connections, caches
        for _ in range(3):
            await fn()
    for _ in range(rounds):
        for key, fn in contenders.items():
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await fn()
            wall[key].append((time.perf_counter() - start) / calls * 1000)
            cpu[key].append((time.process_time() - start_cpu) / calls * 1000)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in contenders}


async def per_step(
    base_url: str, rounds: int = 25, calls: int = 6
) -> dict[int, dict[str, tuple[float, float]]]:
    """{messages: {contender: (wall ms, client CPU ms) per call}} for each size in SIZES."""
    ours = OpenAIModel("openai/standin", base_url=base_url, api_key="bench")
    streamed = OpenAIModel("openai/standin", base_url=base_url, api_key="bench", stream=True)
    sdk = CreateModel("openai/standin", base_url=base_url, api_key="bench")
    raw = FloorModel(base_url)
    results = {}
    for size in SIZES:
        request = context(size)
        contenders = {
            "ours": lambda r=request: ours.complete(r),
            "ours_stream": lambda r=request: streamed.complete(r),
            "sdk": lambda r=request: sdk.complete(r),
            "floor": lambda r=request: raw.complete(r),
        }
        results[size] = await interleaved(contenders, rounds, calls)
    await raw.close()
    for model in (ours, streamed, sdk):
        await model.client.close()
    return results


def _function_model() -> FunctionModel:
    async def reply(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(LATENCY)
        done = sum(1 for m in request.messages if m["role"] == "tool")
        if done % STEPS_PER_TURN == STEPS_PER_TURN - 1:
            return send("done")
        return call("core_memory_append", label="notes", content="x")

    return FunctionModel(reply)


async def many_agents(model: Model, agents: int = 200, turns: int = 5) -> tuple[float, int]:
    """(seconds, turns that did not end with ``end_turn``) for ``agents`` agents x ``turns``."""
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        client = AsyncClient(Path(tmp) / "bench.db", model=model)
        blocks = [{"label": "notes", "value": "", "limit": 1_000_000}]
        ids = [(await client.agents.create(memory_blocks=blocks)).id for _ in range(agents)]

        async def run(agent_id: str) -> None:
            nonlocal failed
            for _ in range(turns):
                response = await client.agents.messages.create(
                    agent_id=agent_id, messages=[{"role": "user", "content": "go"}]
                )
                failed += response.stop_reason != "end_turn"

        start = time.perf_counter()
        await asyncio.gather(*(run(i) for i in ids))
        elapsed = time.perf_counter() - start
        client.close()
    return elapsed, failed


async def _over_http(kind: Callable[[str], Any], url: str) -> tuple[float, int]:
    model = kind(url)
    try:
        return await many_agents(model)
    finally:
        await (model.client.close() if isinstance(model, OpenAIModel) else model.close())


def _openai(kind: type[OpenAIModel]) -> Callable[[str], OpenAIModel]:
    return lambda url: kind("openai/standin", base_url=url, api_key="bench")


def _aiohttp(url: str) -> OpenAIModel:
    """``OpenAIModel`` over the openai client's aiohttp transport (``openai[aiohttp]``).

    httpx's connection pool costs more per request the more requests are in flight (about
    5 ms each with 200 at once here); aiohttp's does not.
    """
    http = openai.DefaultAioHttpClient()
    return OpenAIModel("openai/standin", base_url=url, api_key="bench", http_client=http)


def main() -> None:
    """Print both tables."""
    print("\n## The real request path (OpenAIModel against a local stand-in on loopback)\n")
    with StandIn() as url:
        results = asyncio.run(per_step(url))
    names = [("floor", "raw httpx (floor)"), ("ours", "OpenAIModel")]
    names += [("ours_stream", "OpenAIModel stream=True"), ("sdk", "SDK chat.completions.create")]
    print("wall ms per step (one model call), and its ratio to the floor:\n")
    print("| messages | " + " | ".join(label for _, label in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for size, r in results.items():
        cells = [f"{r[k][0]:.2f} ms ({r[k][0] / r['floor'][0]:.2f}x)" for k, _ in names]
        print(f"| {size} | " + " | ".join(cells) + " |")
    print("\nthe client process's CPU per call (the server runs in its own process):\n")
    print("| messages | " + " | ".join(label for _, label in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for size, r in results.items():
        cells = [f"{r[k][1]:.2f} ms ({r[k][1] / r['floor'][1]:.2f}x)" for k, _ in names]
        print(f"| {size} | " + " | ".join(cells) + " |")
    print("\ntarget: OpenAIModel <= 1.3x the floor at every size, flat in history length")

    ideal = 5 * STEPS_PER_TURN * LATENCY
    print(
        f"\n200 agents x 5 turns, {LATENCY * 1000:.0f} ms per model reply, ideal {ideal:.2f} s:\n"
    )
    print("| model | seconds | ratio to ideal | turns not ending end_turn |")
    print("|---|---|---|---|")
    rows: list[tuple[str, Callable[[str], Any]]] = [
        ("OpenAIModel over HTTP", _openai(OpenAIModel)),
        ("OpenAIModel, aiohttp transport", _aiohttp),
        ("floor: raw httpx over HTTP", FloorModel),
    ]
    elapsed, failed = asyncio.run(many_agents(_function_model()))
    print(f"| FunctionModel (sleeps) | {elapsed:.2f} | {elapsed / ideal:.2f}x | {failed} |")
    with StandIn(LATENCY) as url:
        best = {label: (float("inf"), 0) for label, _ in rows}
        for _ in range(REPEATS):  # in turns; the best run of each, as the machine is shared
            for label, kind in rows:
                best[label] = min(best[label], asyncio.run(_over_http(kind, url)))
    for label, (elapsed, failed) in best.items():
        print(f"| {label} | {elapsed:.2f} | {elapsed / ideal:.2f}x | {failed} |", flush=True)
    print("\ntargets: FunctionModel <= 1.5x, over HTTP <= 2x the ideal")


if __name__ == "__main__":
    main()
