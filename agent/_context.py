"""Keeping the context window bounded: token accounting, eviction to recall, recursive summary.

Before every model request the engine asks ``ContextManager.fit``: if the estimated prompt
passes ``evict_at`` of the window, the oldest messages are evicted (to recall memory, where
``conversation_search`` still finds them) until it is under ``evict_to``, never splitting an
assistant message from its tool results and never touching the current turn; the evicted
messages and the previous summary are summarized into a new summary. Past ``warn_at`` (and
below ``evict_at``) the model gets a note to save what matters, once until the next eviction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from agent._errors import RealModelCallBlocked
from agent._history import Record, is_receipt
from agent._model import Model, ModelRequest, ModelResponse
from agent._tokens import TokenCounter, count_messages, count_tools
from agent.store import Store

__all__ = ["ContextConfig", "ContextManager", "ContextState", "ContextWindow", "summary_message"]

logger = logging.getLogger("selfedit.context")

SUMMARIZER_PROMPT = """\
You maintain the running summary of a conversation between a user and an AI agent. You get the
previous summary (if any) and the next messages, oldest first. Write the new summary: keep
every fact, name, preference, decision and open task from both; drop small talk. Write plain
prose, at most 300 words. Output only the summary."""

PRESSURE_NOTE = (
    "[System note] Your context window is {percent}% full. The oldest messages will soon be "
    "moved out of view (to recall memory, where conversation_search finds them) and folded "
    "into a summary. Save anything that matters now: core_memory_append for lasting facts "
    "about the user or yourself, archival_memory_insert for details."
)


class ContextConfig(BaseModel):
    """How an agent's context window is managed (fractions of the window)."""

    evict_at: float = Field(default=0.75, gt=0, le=1)
    """Evict when the prompt is estimated above this fraction of the window."""
    evict_to: float = Field(default=0.5, gt=0, le=1)
    """Evict down to this fraction."""
    warn_at: float = Field(default=0.7, gt=0, le=1)
    """Past this fraction (and below ``evict_at``), tell the model once in the turn."""
    max_return: float = Field(default=0.25, gt=0, le=1)
    """The largest fraction of the window one tool result may take; longer ones are cut."""


class ContextWindow(BaseModel):
    """What ``client.agents.context.retrieve`` returns: where the window's tokens go."""

    context_window_limit: int
    """The window, in tokens."""
    window_known: bool
    """False when the model is unknown and a conservative default is assumed."""
    counter: str
    """How tokens are counted: ``tiktoken/<encoding>`` or ``estimate``."""
    correction: float
    """Provider-reported over counted prompt tokens, averaged over recent calls; at least 1
    (the estimate is only ever corrected upward)."""
    system_tokens: int
    """The system prompt."""
    core_memory_tokens: int
    """Compiled core memory."""
    tools_tokens: int
    """The tool schemas."""
    summary_tokens: int
    """The recursive summary."""
    messages_tokens: int
    """The messages in context."""
    total_tokens: int
    """Their sum, times ``correction``: the estimate eviction acts on."""
    summary: str
    """The recursive summary of evicted messages."""
    summarized_messages: int
    """How many messages the summary covers."""
    messages_in_context: int
    """Messages in the window."""
    messages_in_recall: int
    """All stored messages (recall memory), in the window or not."""
    last_summary_error: str | None = None
    """Why the last summarization failed, if it did (the messages were evicted anyway)."""


@dataclass
class ContextState:
    """An agent's live context bookkeeping."""

    window: int
    window_known: bool
    counter: TokenCounter
    config: ContextConfig = field(default_factory=lambda: ContextConfig())
    summary: str = ""
    summarized: int = 0
    correction: float = 1.0
    summary_error: str | None = None
    warned: bool = False
    """Whether the memory-pressure note was given since the last eviction."""

    def bounded(self, text: str) -> str:
        """A tool result cut to the share of the window one result may take."""
        budget = int(self.window * self.config.max_return)
        if self.counter.count(text) <= budget:
            return text
        keep = budget * 3 * 3 // 4  # chars: the estimate's rate, with room for the note
        return (
            f"{text[:keep]}\n[cut: this result was too long for the context window; "
            f"{len(text) - keep} of {len(text)} characters omitted]"
        )

    counted_first: int = 0
    counted_len: int = 0
    counted: int = 0
    """The tokens of the first ``counted_len`` records of the context that starts with the
    record whose ``id()`` is ``counted_first`` (the context only grows at its end)."""


def summary_message(state: ContextState) -> dict[str, Any] | None:
    """The summary as the system message that follows the system prompt, if there is one."""
    if not state.summarized:
        return None
    text = state.summary or "(the summary could not be written; search recall memory)"
    header = (
        f"Summary of the {state.summarized} earliest messages of this conversation (moved out "
        "of view to recall memory; conversation_search finds them):"
    )
    return {"role": "system", "content": f"{header}\n{text}"}


def _tokens(counter: TokenCounter, record: Record) -> int:
    cached = record.__dict__.get("_tokens")
    if cached is None:
        cached = record.__dict__["_tokens"] = count_messages(counter, [record.openai()])
    return int(cached)


class ContextManager:
    """Fits an agent's context into its window (see the module docstring)."""

    def __init__(self, store: Store, summarizer: Model | None = None) -> None:
        self.store = store
        self.summarizer = summarizer
        self._tools: dict[int, tuple[dict[str, Any], int]] = {}

    def measure(
        self,
        state: ContextState,
        system: str,
        memory: str,
        tools: list[dict[str, Any]],
        context: list[Record],
    ) -> dict[str, int]:
        """Tokens per component, and their corrected total."""
        counter = state.counter
        summary = summary_message(state)
        parts = {
            "system_tokens": counter.count(system),
            "core_memory_tokens": counter.count(memory),
            "tools_tokens": sum(self._tool_tokens(counter, t) for t in tools),
            "summary_tokens": count_messages(counter, [summary]) if summary else 0,
            "messages_tokens": self._messages_tokens(state, context),
        }
        parts["total_tokens"] = round(sum(parts.values()) * state.correction)
        return parts

    def _messages_tokens(self, state: ContextState, context: list[Record]) -> int:
        """Tokens of the in-context records: only new records are counted when it just grew."""
        first = id(context[0]) if context else 0
        done = state.counted_len if state.counted_first == first else 0
        if done > len(context):
            done = 0
        if done == 0:
            state.counted = 0
        state.counted += sum(_tokens(state.counter, r) for r in context[done:])
        state.counted_first, state.counted_len = first, len(context)
        return state.counted

    def _tool_tokens(self, counter: TokenCounter, schema: dict[str, Any]) -> int:
        """Tokens of one tool schema; schemas are cached objects, so each is counted once."""
        known = self._tools.get(id(schema))
        if known is None or known[0] is not schema:
            known = self._tools[id(schema)] = (schema, count_tools(counter, [schema]))
        return known[1]

    def observe(
        self,
        state: ContextState,
        request: ModelRequest,
        reply: ModelResponse,
        counted: int | None = None,
    ) -> None:
        """Compare the counted prompt with the provider's count; keep a running correction.

        ``counted`` is the uncorrected count of ``request`` when the caller has it already.
        """
        reported = reply.usage.prompt_tokens
        if counted is None:
            counted = count_messages(state.counter, request.messages)
            counted += count_tools(state.counter, request.tools)
        if reported > 0 and counted > 0:
            # only upward: counting short overflows the window, counting long costs a little
            # room; and a made-up usage (a test double's) must not shrink the estimate
            ratio = min(max(reported / counted, 1.0), 4.0)
            state.correction = 0.7 * state.correction + 0.3 * ratio

    def cut_point(self, state: ContextState, context: list[Record], excess: int) -> int:
        """How many of the oldest records to evict to free ``excess`` tokens, whole groups only.

        A group is a message with the tool results that follow it, so a call is never parted
        from its result; the newest user message and everything after it always stay.
        """
        newest_user = max((i for i, r in enumerate(context) if r.role == "user"), default=0)
        starts = sorted({0, *(i for i in range(newest_user) if context[i].role != "tool")})
        starts = [i for i in starts if i < newest_user]
        cut, freed = 0, 0
        for n, start in enumerate(starts):
            if freed >= excess:
                break
            end = starts[n + 1] if n + 1 < len(starts) else newest_user
            freed += sum(_tokens(state.counter, r) for r in context[start:end])
            cut = end
        return cut

    async def summarize(self, state: ContextState, model: Model, evicted: list[Record]) -> str:
        """The previous summary and ``evicted``, summarized; in parts if they are too long."""
        budget = max(int(state.window * 0.4) - state.counter.count(SUMMARIZER_PROMPT), 256)
        summary = state.summary
        for chunk in self._chunks(state, evicted, budget):
            previous = summary or "(none yet)"
            prompt = f"Previous summary:\n{previous}\n\nNext messages:\n{chunk}"
            request = ModelRequest(
                [
                    {"role": "system", "content": SUMMARIZER_PROMPT},
                    {"role": "user", "content": prompt},
                ],
                [],
                "none",
            )
            reply = await (self.summarizer or model).complete(request)
            summary = (reply.text or "").strip() or summary
        return summary

    def _chunks(self, state: ContextState, records: list[Record], budget: int) -> list[str]:
        """The records as text lines, grouped so that each group (and the summary) fits."""
        room = max(budget - state.counter.count(state.summary), budget // 2)
        chunks: list[str] = []
        lines: list[str] = []
        used = 0
        for record in records:
            if is_receipt(record):
                continue
            line = _line(record)
            cost = state.counter.count(line)
            if cost > room:  # one huge message: keep its start
                line, cost = line[: room * 3] + " [...]", room
            if lines and used + cost > room:
                chunks.append("\n".join(lines))
                lines, used = [], 0
            lines.append(line)
            used += cost
        if lines:
            chunks.append("\n".join(lines))
        return chunks

    async def fit(
        self,
        state: ContextState,
        agent_id: str,
        model: Model,
        measure: dict[str, int],
        context: list[Record],
    ) -> list[Record]:
        """Evict (and summarize) if the window is too full; returns the records evicted."""
        limit = state.config.evict_at * state.window
        if measure["total_tokens"] <= limit:
            return []
        # room for the summary that is about to grow: at most ~300 words, or a tenth of the window
        allowance = max(measure["summary_tokens"], min(state.window // 10, 600))
        growth = allowance - measure["summary_tokens"]
        excess = measure["total_tokens"] + growth - int(state.config.evict_to * state.window)
        cut = self.cut_point(state, context, int(excess / max(state.correction, 0.01)))
        evicted = context[:cut]
        if not evicted:
            return []
        try:
            summary, error = await self.summarize(state, model, evicted), None
        except RealModelCallBlocked:
            raise
        except Exception as e:  # summarization failing must not fail the user's turn
            logger.warning("summarizing %d messages failed", len(evicted), exc_info=e)
            summary, error = state.summary, f"{type(e).__name__}: {e}"
        with self.store.transaction():
            self.store.evict(agent_id, [r.id for r in evicted])
            self.store.save_summary(agent_id, summary, state.summarized + len(evicted), error)
        del context[:cut]
        state.summary, state.summarized, state.summary_error = (
            summary,
            state.summarized + len(evicted),
            error,
        )
        return evicted


def _line(record: Record) -> str:
    if record.role == "assistant":
        calls = "; ".join(f"{c.name}({c.arguments})" for c in record.tool_calls)
        text = " ".join(p for p in (record.content, f"[calls {calls}]" if calls else "") if p)
        return f"assistant: {text}"
    if record.role == "tool":
        return f"tool {record.name or ''}: {record.content}"
    return f"{record.role}: {record.content}"
