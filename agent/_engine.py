"""The step engine: one user turn, as a loop of model calls in which every action is a tool call.

Each step sends the system prompt with compiled memory and the in-context history, then runs
every tool call of the reply in order. ``send_message`` ends the turn once the reply's calls
are done; any other tool continues it. A step's messages and memory changes are committed in
one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from agent._commits import GroupCommit
from agent._context import PRESSURE_NOTE, ContextManager, ContextState, summary_message
from agent._errors import RealModelCallBlocked
from agent._history import SEND_MESSAGE, Record, is_well_formed, to_openai, well_formed
from agent._memory import Snapshot
from agent._messages import (
    AssistantMessage,
    Message,
    ReasoningMessage,
    StopReason,
    StopReasonType,
    SystemMessage,
    ToolCall,
    ToolCallMessage,
    ToolReturnMessage,
    Usage,
    UsageStatistics,
)
from agent._model import Model, ModelRequest, ModelResponse, ModelToolCall
from agent._state import AgentState
from agent._store import Store
from toolkit import ToolResult, ToolSet

__all__ = ["Continue", "EndTurn", "Engine", "LiveAgent"]

logger = logging.getLogger("selfedit.engine")
REPEAT_LIMIT = 3


@dataclass
class LiveAgent:
    """An agent loaded for running: its state, its in-context history, its model, its lock."""

    state: AgentState
    context: list[Record]
    model: Model
    window: ContextState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    _toolset: tuple[tuple[int, ...], ToolSet] | None = None
    _system: tuple[tuple[Any, ...], str] | None = None

    @property
    def toolset(self) -> ToolSet:
        """The agent's tools as a ``ToolSet`` (rebuilt only when the tools change)."""
        key = tuple(id(t) for t in self.state.tools)
        if self._toolset is None or self._toolset[0] != key:
            self._toolset = (key, ToolSet(self.state.tools))
        return self._toolset[1]

    def system_prompt(self) -> str:
        """The compiled system prompt (recompiled only when prompt or memory changed)."""
        memory = self.state.memory
        key = (
            self.state.system,
            *((b.label, b.value, b.limit, b.description, b.read_only) for b in memory),
        )
        if self._system is None or self._system[0] != key:
            self._system = (key, self.state.compile_system())
        return self._system[1]


@dataclass(frozen=True)
class Continue:
    """The turn goes on with another model call."""


@dataclass(frozen=True)
class EndTurn:
    """The turn is over."""

    reason: StopReasonType


Next = Continue | EndTurn


@dataclass
class _Streak:
    """The run of identical calls (same tool, arguments and result) ending at the last call."""

    key: tuple[str, str] | None = None
    result: str | None = None
    count: int = 0

    def blocks(self, key: tuple[str, str]) -> bool:
        return self.key == key and self.count >= REPEAT_LIMIT

    def record(self, key: tuple[str, str], result: str) -> None:
        if self.key == key and self.result == result:
            self.count += 1
        else:
            self.key, self.result, self.count = key, result, 1


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        return arguments


@dataclass
class _Turn:
    """What one turn accumulates."""

    usage: Usage = field(default_factory=Usage)
    streak: _Streak = field(default_factory=_Streak)
    nudged: bool = False


class Engine:
    """Runs turns against a ``Store``."""

    def __init__(self, store: Store, summarizer: Model | None = None) -> None:
        self.store = store
        self.commits = GroupCommit(store)
        self.context = ContextManager(store, summarizer)

    async def turn(self, live: LiveAgent, text: str) -> AsyncGenerator[Message, None]:
        """Run one turn for ``text``; yields messages as they happen, then usage and stop."""
        async with live.lock, contextlib.aclosing(self._turn(live, text)) as messages:
            async for message in messages:
                yield message

    async def _turn(self, live: LiveAgent, text: str) -> AsyncGenerator[Message, None]:
        await self._commit(live, [Record("user", text)], None)
        turn = _Turn()
        stop: StopReasonType = "max_steps"
        for step in range(live.state.max_steps):
            last = step == live.state.max_steps - 1
            outcome: Next = Continue()
            async with contextlib.aclosing(self._step(live, turn, last)) as items:
                async for item in items:
                    if isinstance(item, (Continue, EndTurn)):
                        outcome = item
                    else:
                        yield item
            if isinstance(outcome, EndTurn):
                stop = outcome.reason
                break
        usage = turn.usage
        usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
        yield UsageStatistics(**usage.model_dump())
        yield StopReason(stop_reason=stop)

    def _request(self, live: LiveAgent, tools: ToolSet, force: bool) -> ModelRequest:
        system = {"role": "system", "content": live.system_prompt()}
        summary = summary_message(live.window)
        head = [system, summary] if summary else [system]
        # the engine only ever stores whole call/result groups, so this check is cheap and
        # normally passes; a history that is broken anyway is repaired, never sent as it is
        context = live.context if is_well_formed(live.context) else well_formed(live.context)
        messages = [*head, *to_openai(context)]
        choice = SEND_MESSAGE if force and SEND_MESSAGE in tools else "required"
        return ModelRequest(messages, tools.openai_schemas(), choice)

    def measure(self, live: LiveAgent) -> dict[str, int]:
        """Tokens of each part of the agent's next request, and their corrected total."""
        prompt, system = live.system_prompt(), live.state.system
        memory = prompt[len(system) :] if prompt.startswith(system) else prompt
        return self.context.measure(
            live.window, system, memory, live.toolset.openai_schemas(), live.context
        )

    async def _fit(self, live: LiveAgent) -> int:
        """Evict and summarize if the window is too full; warn the model once when near.

        Returns the uncorrected token count of the request about to be sent.
        """
        measure = self.measure(live)
        evicted = await self.context.fit(
            live.window, live.state.id, live.model, measure, live.context
        )
        config, window = live.window.config, live.window.window
        if evicted:
            live.window.warned = False  # room was made: warn again when it fills up
            measure = self.measure(live)
        elif not live.window.warned and measure["total_tokens"] > config.warn_at * window:
            live.window.warned = True  # once until the next eviction
            percent = round(100 * measure["total_tokens"] / window)
            note = Record("system", PRESSURE_NOTE.format(percent=percent))
            await self._commit(live, [note], None)
            measure = self.measure(live)
        return round(measure["total_tokens"] / live.window.correction)

    def _bounded(self, live: LiveAgent, text: str) -> str:
        """A tool result cut to the share of the window one result may take."""
        window = live.window
        budget = int(window.window * window.config.max_return)
        if window.counter.count(text) <= budget:
            return text
        keep = budget * 3 * 3 // 4  # chars: the estimate's rate, with room for the note
        return (
            f"{text[:keep]}\n[cut: this result was too long for the context window; "
            f"{len(text) - keep} of {len(text)} characters omitted]"
        )

    async def _step(
        self, live: LiveAgent, turn: _Turn, last: bool
    ) -> AsyncGenerator[Message | Next, None]:
        tools = live.toolset
        try:
            counted = await self._fit(live)
        except sqlite3.Error as e:
            yield SystemMessage(content=f"Saving the context window failed: {e}")
            yield EndTurn("error")
            return
        request = self._request(live, tools, force=turn.nudged or last)
        try:
            reply = await live.model.complete(request)
        except RealModelCallBlocked:
            raise
        except Exception as e:  # the model boundary: any failure ends the turn, state intact
            logger.warning("model %r failed", live.model.name, exc_info=e)
            yield SystemMessage(content=f"The model call failed: {type(e).__name__}: {e}")
            yield EndTurn("error")
            return
        self.context.observe(live.window, request, reply, counted)
        turn.usage.prompt_tokens += reply.usage.prompt_tokens
        turn.usage.completion_tokens += reply.usage.completion_tokens
        turn.usage.step_count += 1
        if reply.tool_calls:
            steps = self._calls(live, tools, turn, reply)
        else:
            steps = self._no_call(live, turn, reply, last)
        async with contextlib.aclosing(steps) as items:
            async for item in items:
                yield item

    async def _no_call(
        self, live: LiveAgent, turn: _Turn, reply: ModelResponse, last: bool
    ) -> AsyncGenerator[Message | Next, None]:
        text = (reply.text or "").strip()
        final = turn.nudged or last
        if text:  # kept as reasoning; on the final try, delivered: the user never gets nothing
            record = Record("assistant", text, status="delivered" if final else None)
            try:
                await self._commit(live, [record], None)
            except sqlite3.Error as e:
                yield SystemMessage(content=f"Saving the step failed: {e}")
                yield EndTurn("error")
                return
            if final:
                yield AssistantMessage(id=record.id, content=text, date=record.created_at)
            else:
                yield ReasoningMessage(id=f"{record.id}-r", reasoning=text, date=record.created_at)
        if not final:
            turn.nudged = True  # ask once more, with send_message forced
            yield Continue()
            return
        if not text:
            yield SystemMessage(content="The model replied with neither text nor a tool call.")
        yield EndTurn("max_steps" if last and not turn.nudged else "no_tool_call")

    async def _calls(
        self, live: LiveAgent, tools: ToolSet, turn: _Turn, reply: ModelResponse
    ) -> AsyncGenerator[Message | Next, None]:
        calls = [
            ToolCall(name=c.name, arguments=c.arguments, tool_call_id=c.id)
            for c in reply.tool_calls
        ]
        assistant = Record("assistant", (reply.text or "").strip(), calls)
        records = [assistant]
        if assistant.content:
            yield ReasoningMessage(id=f"{assistant.id}-r", reasoning=assistant.content)
        before = live.state.memory.snapshot()
        try:
            running = self._run_all(live, tools, turn, reply, records, before)
            async with contextlib.aclosing(running) as items:
                async for item in items:
                    yield item
        except (GeneratorExit, asyncio.CancelledError):
            live.state.memory.restore(before)  # the step never committed: undo its edits
            raise

    async def _run_all(
        self,
        live: LiveAgent,
        tools: ToolSet,
        turn: _Turn,
        reply: ModelResponse,
        records: list[Record],
        before: Snapshot,
    ) -> AsyncGenerator[Message | Next, None]:
        sent = False
        for call in reply.tool_calls:
            result = await self._run(live, tools, turn, call)
            result.content = self._bounded(live, result.content)
            records.append(
                Record("tool", result.content, [], call.id, result.status, name=call.name)
            )
            if call.name == SEND_MESSAGE and result.ok:
                sent = True
                yield AssistantMessage(content=str(json.loads(call.arguments)["message"]))
                continue
            yield ToolCallMessage(
                tool_call=ToolCall(name=call.name, arguments=call.arguments, tool_call_id=call.id)
            )
            yield ToolReturnMessage(
                tool_return=result.content, status=result.status, tool_call_id=call.id
            )
        try:
            await self._commit(live, records, before)
        except sqlite3.Error as e:
            live.state.memory.restore(before)
            yield SystemMessage(content=f"Saving the step failed, so it was undone: {e}")
            yield EndTurn("error")
            return
        yield EndTurn("end_turn") if sent else Continue()

    async def _run(
        self, live: LiveAgent, tools: ToolSet, turn: _Turn, call: ModelToolCall
    ) -> ToolResult:
        key = (call.name, _canonical(call.arguments))
        if turn.streak.blocks(key):
            return ToolResult(
                "error",
                f"Error: {call.name} was already called {REPEAT_LIMIT} times in a row with these "
                "arguments and gave the same result each time; it was not run again. "
                "Use that result, or do something else (send_message to reply).",
            )
        snapshot = live.state.memory.snapshot()
        result = await tools.ainvoke(call.name, call.arguments, agent_state=live.state)
        if not result.ok:
            live.state.memory.restore(snapshot)
        if call.name != SEND_MESSAGE:
            turn.streak.record(key, result.content)
        return result

    async def _commit(
        self, live: LiveAgent, records: list[Record], before: Snapshot | None
    ) -> None:
        """Write the step's records and memory changes atomically (see ``GroupCommit``)."""
        memory = live.state.memory
        edited, membership = memory.changed(before) if before is not None else ([], False)

        def write() -> None:
            self.store.add_messages(live.state.id, records)
            if membership:
                self.store.attach_blocks(live.state.id, memory.blocks)
            for block in edited:
                self.store.save_block(block)

        await self.commits.commit(write)
        live.context.extend(records)
