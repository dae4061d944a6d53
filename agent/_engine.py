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
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Literal

from agent._approval import Waiting, answered, denial, refuse_pending, replay
from agent._context import PRESSURE_NOTE, ContextManager, summary_message
from agent._errors import AgentBusyError, ConfigError, ModelError, RealModelCallBlocked
from agent._history import SEND_MESSAGE, Record, to_openai
from agent._ids import new_id
from agent._lease import Leases
from agent._live import LiveAgent
from agent._memory import Snapshot
from agent._messages import (
    ApprovalCreate,
    ApprovalRequestMessage,
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
from agent._registry import ToolRegistry
from agent._repeats import Streak
from agent._rules import Progress, Rules
from agent._sanitize import sanitize
from agent._saving import StepSaver
from agent._streaming import Chunks, Said, StreamingModel
from agent._text import REPAIR_NOTE, repair
from agent._unit import StepWrites
from agent.store import Store
from toolkit import ToolResult, ToolSet

__all__ = ["Continue", "EndTurn", "Engine"]

logger = logging.getLogger("selfedit.engine")


@dataclass(frozen=True)
class Continue:
    """The turn goes on with another model call."""


@dataclass(frozen=True)
class EndTurn:
    """The turn is over."""

    reason: StopReasonType


Next = Continue | EndTurn


@dataclass
class _Turn:
    """What one turn accumulates."""

    usage: Usage = field(default_factory=Usage)
    streak: Streak = field(default_factory=Streak)
    nudged: bool = False
    progress: Progress = field(default_factory=Progress)
    """What the tool rules have seen of the turn."""
    released: bool = False
    """Whether a commit of the turn already gave its lease back."""
    tokens: bool = False
    """Stream the model's replies as they are written (when the model can)."""


class Engine:
    """Runs turns against a ``Store``: one turn of an agent at a time, across every client."""

    def __init__(
        self,
        store: Store,
        registry: ToolRegistry,
        leases: Leases,
        summarizer: Model | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.leases = leases
        self.commits = leases.commits
        self.saver = StepSaver(store, leases)
        self.context = ContextManager(store, summarizer)

    async def turn(
        self, live: LiveAgent, text: str, *, stream_tokens: bool = False
    ) -> AsyncGenerator[Message, None]:
        """Run one turn for ``text``; yields messages as they happen, then usage and stop.

        The turn takes the agent's lease in the same commit that saves the user's message,
        and gives it back in its last commit. ``stream_tokens``: a model that can stream
        (``StreamingModel``) yields its reasoning and its ``send_message`` text in chunks as it
        writes them; the messages saved are the same.

        Raises:
            AgentBusyError: another client's turn of this agent did not end in time.
        """
        agent_id = live.state.id
        user = [Record("user", text)]

        def check() -> None:  # inside the commit that takes the lease: no race
            refuse_pending(self.store, agent_id)

        turn = _Turn(tokens=stream_tokens)
        async with contextlib.aclosing(self._leased(live, turn, user, check, None)) as messages:
            async for message in messages:
                yield message

    async def resume(
        self, live: LiveAgent, approval: ApprovalCreate, *, stream_tokens: bool = False
    ) -> AsyncGenerator[Message, None]:
        """Answer the call awaiting approval and go on with its turn; yields as ``turn``.

        Approved, the tool runs; denied, the model reads the denial as the call's error.

        Raises:
            ConfigError: no call awaits approval, or the approval names another call.
            AgentBusyError: another client's turn of this agent did not end in time.
        """
        found: list[Waiting] = []

        def check() -> None:
            found.append(answered(self.store, live.state.id, approval))

        opening = (found, approval)
        turn = _Turn(tokens=stream_tokens)
        async with contextlib.aclosing(self._leased(live, turn, [], check, opening)) as messages:
            async for message in messages:
                yield message

    async def _leased(
        self,
        live: LiveAgent,
        turn: _Turn,
        records: list[Record],
        check: Callable[[], None],
        opening: tuple[list[Waiting], ApprovalCreate] | None,
    ) -> AsyncGenerator[Message, None]:
        """Take the lease (saving ``records``, after ``check``), run the turn, give it back."""
        agent_id = live.state.id
        async with live.lock:
            try:
                await self.leases.take(
                    agent_id, lambda: self.saver.commit(live, records, take=True, check=check)
                )
            except (AgentBusyError, ConfigError):
                raise
            except Exception as e:  # storage failed before the turn began: nothing was saved
                yield self._failed(live, None, "Saving the user message failed", e)
                yield UsageStatistics()
                yield StopReason(stop_reason="error")
                return
            try:
                first = None if opening is None else self._answer(live, turn, *opening)
                async with (
                    self.leases.renewing(agent_id),
                    contextlib.aclosing(self._turn(live, turn, first)) as messages,
                ):
                    async for message in messages:
                        yield message
            finally:
                self.leases.done(agent_id)
                if not turn.released:
                    await self.leases.give_back(agent_id)

    async def _turn(
        self,
        live: LiveAgent,
        turn: _Turn,
        first: AsyncGenerator[Message | Next, None] | None = None,
    ) -> AsyncGenerator[Message, None]:
        """The turn's steps; ``first``, if given, runs before them (an approval's answer)."""
        stop: StopReasonType = "max_steps"
        for step in range(0 if first is None else -1, live.state.max_steps):
            last = step == live.state.max_steps - 1
            outcome: Next = Continue()
            items = first if first is not None and step < 0 else self._step(live, turn, last)
            async with contextlib.aclosing(items):
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

    def _failed(
        self, live: LiveAgent, before: Snapshot | None, what: str, error: Exception
    ) -> SystemMessage:
        """Undo a failed step's memory edits; what to tell the caller.

        Memory is reloaded from the database before the next step, whatever the failure left.
        """
        if before is not None:
            live.state.memory.restore(before)
        live.known.stale = True
        logger.warning("%s for agent %r", what, live.state.id, exc_info=error)
        self.store.checkpoint()  # after a storage failure, keep the WAL from growing
        return SystemMessage(
            content=f"{what}; nothing of it was saved: {type(error).__name__}: {error}"
        )

    def _request(
        self, live: LiveAgent, tools: ToolSet, rules: Rules, progress: Progress, force: bool
    ) -> ModelRequest:
        """The request: only the tools the rules allow next are offered."""
        system = {"role": "system", "content": live.system_prompt()}
        summary = summary_message(live.window)
        head = [system, summary] if summary else [system]
        messages = [*head, *to_openai(live.request_context())]
        if not rules.active:
            choice = SEND_MESSAGE if force and SEND_MESSAGE in tools else "required"
            return ModelRequest(messages, tools.openai_schemas(), choice)
        allowed = rules.allowed(progress)
        offered = tools.select(allowed).openai_schemas()
        return ModelRequest(messages, offered, rules.choice(allowed, force))

    @staticmethod
    def _rules(live: LiveAgent, tools: ToolSet) -> Rules:
        return Rules(live.state.tool_rules, tools.names)

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
            live.known.agent += 1  # the eviction changed the history (by one version)
            live.window.warned = False  # room was made: warn again when it fills up
            measure = self.measure(live)
        elif not live.window.warned and measure["total_tokens"] > config.warn_at * window:
            live.window.warned = True  # once until the next eviction
            percent = round(100 * measure["total_tokens"] / window)
            note = Record("system", PRESSURE_NOTE.format(percent=percent))
            await self.saver.commit(live, [note])
            measure = self.measure(live)
        return round(measure["total_tokens"] / live.window.correction)

    async def _step(
        self, live: LiveAgent, turn: _Turn, last: bool
    ) -> AsyncGenerator[Message | Next, None]:
        """One model call and its tools; any failure ends the turn with nothing of it saved."""
        before: Snapshot | None = None
        try:
            await self.saver.refresh(live, self.registry)  # what other clients changed meanwhile
            before = live.state.memory.snapshot()
            tools = live.toolset
            rules = self._rules(live, tools)
            counted = await self._fit(live)
            request = self._request(live, tools, rules, turn.progress, turn.nudged or last)
            record_id = new_id("message")  # the reply's record: its chunks carry its id
            streams = turn.tokens and isinstance(live.model, StreamingModel)
            chunks = Chunks(record_id) if streams else None
            reply = ModelResponse()
            try:
                async with contextlib.aclosing(self._ask(live.model, request, chunks)) as items:
                    async for part in items:
                        if isinstance(part, ModelResponse):
                            reply = part
                        else:
                            yield part
            except RealModelCallBlocked:
                raise
            except Exception as e:  # the model boundary: any failure ends the turn, state intact
                logger.warning("model %r failed", live.model.name, exc_info=e)
                yield SystemMessage(content=f"The model call failed: {type(e).__name__}: {e}")
                yield EndTurn("error")
                return
            reply, repaired = sanitize(reply)
            self.context.observe(live.window, request, reply, counted)
            turn.usage.prompt_tokens += reply.usage.prompt_tokens
            turn.usage.completion_tokens += reply.usage.completion_tokens
            turn.usage.step_count += 1
            said = Said(record_id, chunks, repaired)
            if reply.tool_calls:
                steps = self._calls(live, tools, rules, turn, reply, said)
            else:
                steps = self._no_call(live, turn, reply, last, said)
            async with contextlib.aclosing(steps) as items:
                async for item in items:
                    yield item
        except (GeneratorExit, asyncio.CancelledError):
            if before is not None:  # the step never committed: undo its edits
                live.state.memory.restore(before)
            live.known.stale = True
            raise
        except Exception as e:  # any failure of a step ends the turn; the agent stays usable
            yield self._failed(live, before, "The step failed", e)
            yield EndTurn("error")

    @staticmethod
    async def _ask(
        model: Model, request: ModelRequest, chunks: Chunks | None
    ) -> AsyncGenerator[Message | ModelResponse, None]:
        """The model's reply; streamed (with ``chunks``), its chunks as they come, before it."""
        if chunks is None or not isinstance(model, StreamingModel):
            yield await model.complete(request)
            return
        reply: ModelResponse | None = None
        async with contextlib.aclosing(model.stream(request)) as events:
            async for event in events:
                if isinstance(event, ModelResponse):
                    reply = event
                elif (chunk := chunks.feed(event)) is not None:
                    yield chunk
        if reply is None:
            raise ModelError(f"{model.name}: the stream ended without a reply")
        yield reply

    async def _no_call(
        self, live: LiveAgent, turn: _Turn, reply: ModelResponse, last: bool, said: Said
    ) -> AsyncGenerator[Message | Next, None]:
        text = (reply.text or "").strip()
        final = turn.nudged or last
        records = _notes(said.repaired)
        if text:  # kept as reasoning; on the final try, delivered: the user never gets nothing
            status: Literal["delivered"] | None = "delivered" if final else None
            record = Record("assistant", text, status=status, id=said.record_id)
            records.insert(0, record)
        if records:
            await self.saver.commit(live, records, release=final)
            turn.released = final
        if text and final:
            yield AssistantMessage(id=records[0].id, content=text, date=records[0].created_at)
        elif text and (rest := said.reasoning(text)):
            yield ReasoningMessage(
                id=f"{records[0].id}-r", reasoning=rest, date=records[0].created_at
            )
        if not final:
            turn.nudged = True  # ask once more, with send_message forced
            yield Continue()
            return
        if not text:
            yield SystemMessage(content="The model replied with neither text nor a tool call.")
        yield EndTurn("max_steps" if last and not turn.nudged else "no_tool_call")

    async def _calls(
        self,
        live: LiveAgent,
        tools: ToolSet,
        rules: Rules,
        turn: _Turn,
        reply: ModelResponse,
        said: Said,
    ) -> AsyncGenerator[Message | Next, None]:
        calls = [
            ToolCall(name=c.name, arguments=c.arguments, tool_call_id=c.id)
            for c in reply.tool_calls
        ]
        assistant = Record("assistant", (reply.text or "").strip(), calls, id=said.record_id)
        records = [assistant]
        if assistant.content and (rest := said.reasoning(assistant.content)):
            yield ReasoningMessage(id=f"{assistant.id}-r", reasoning=rest)
        writes = StepWrites()
        sent = False
        held: ToolCall | None = None  # the call that waits for approval, if any
        for i, (call, shown) in enumerate(zip(reply.tool_calls, calls, strict=True)):
            refused = None if held else rules.refusal(turn.progress, call.name)
            if not (held or refused) and call.name in rules.approval and call.name in tools:
                held = shown  # stored with no result: the approval will answer it
                yield ApprovalRequestMessage(id=f"{assistant.id}-{i}", tool_call=shown)
                continue
            if held is not None:
                result = ToolResult("error", _HELD.format(name=held.name))
            elif refused is not None:
                result = ToolResult("error", refused)
            else:
                with writes.open():  # what the tool writes commits with the step
                    result = await self._run(live, tools, turn, call)
                rules.ran(turn.progress, call.name, result.ok, result.content)
                sent = sent or (result.ok and call.name in rules.terminal)
            result.content = live.window.bounded(repair(result.content)[0])
            records.append(
                Record("tool", result.content, [], call.id, result.status, name=call.name)
            )
            if call.name == SEND_MESSAGE and result.ok:
                sent = True
                text = said.message(i, str(json.loads(call.arguments)["message"]))
                if text:
                    yield AssistantMessage(id=f"{assistant.id}-{i}", content=text)
                continue
            yield ToolCallMessage(id=f"{assistant.id}-{i}", tool_call=shown)
            yield ToolReturnMessage(
                tool_return=result.content, status=result.status, tool_call_id=call.id
            )
        end = sent or held is not None
        await self.saver.commit(live, records + _notes(said.repaired), writes, release=end)
        turn.released = end
        if held is not None:
            yield EndTurn("requires_approval")
        else:
            yield EndTurn("end_turn") if sent else Continue()

    async def _answer(
        self, live: LiveAgent, turn: _Turn, found: list[Waiting], approval: ApprovalCreate
    ) -> AsyncGenerator[Message | Next, None]:
        """Run (approved) or refuse (denied) the waiting call, and save its result."""
        before: Snapshot | None = None
        try:
            await self.saver.refresh(live, self.registry)
            before = live.state.memory.snapshot()
            tools = live.toolset
            rules = self._rules(live, tools)
            turn.progress = replay(live.context, rules)
            call = found[0][1]
            writes = StepWrites()
            ended = False
            if approval.approve:
                with writes.open():
                    made = ModelToolCall(call.name, call.arguments, call.tool_call_id)
                    result = await self._run(live, tools, turn, made)
                rules.ran(turn.progress, call.name, result.ok, result.content)
                ended = result.ok and call.name in rules.terminal
            else:
                result = ToolResult("error", denial(approval.reason))
            result.content = live.window.bounded(repair(result.content)[0])
            record = Record(
                "tool", result.content, [], call.tool_call_id, result.status, name=call.name
            )
            await self.saver.commit(live, [record], writes, release=ended)
            turn.released = ended
            yield ToolReturnMessage(
                tool_return=result.content, status=result.status, tool_call_id=call.tool_call_id
            )
            yield EndTurn("end_turn") if ended else Continue()
        except (GeneratorExit, asyncio.CancelledError):
            if before is not None:
                live.state.memory.restore(before)
            live.known.stale = True
            raise
        except Exception as e:  # nothing of the answer was saved: the call still waits
            yield self._failed(live, before, "Answering the approval failed", e)
            yield EndTurn("error")

    async def _run(
        self, live: LiveAgent, tools: ToolSet, turn: _Turn, call: ModelToolCall
    ) -> ToolResult:
        if turn.streak.blocks(call.name, call.arguments):
            return turn.streak.refusal(call.name)
        snapshot = live.state.memory.snapshot()
        result = await tools.ainvoke(call.name, call.arguments, agent_state=live.state)
        if not result.ok:
            live.state.memory.restore(snapshot)
        else:
            result = await self.saver.settle(live, snapshot, result)
        if call.name != SEND_MESSAGE:
            turn.streak.record(call.name, call.arguments, result.content)
        return result


_HELD = (
    "Error: not run: an earlier call of this reply ({name}) is waiting for a person's "
    "approval. Call this again after it is answered, if it is still needed."
)


def _notes(repaired: bool) -> list[Record]:
    """The system note telling the model its reply was repaired, if it was."""
    return [Record("system", REPAIR_NOTE)] if repaired else []
