"""The stored conversation: records in the model's own format, and the views made from them.

A ``Record`` is one chat message as the model saw it (``user``, ``assistant`` with tool calls,
``tool``). The typed messages users read (``assistant_message``, ``tool_call_message``, ...)
are derived from records, so the model's history and the user's view never disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from agent._ids import new_id
from agent._messages import (
    ApprovalRequestMessage,
    AssistantMessage,
    Message,
    ReasoningMessage,
    SystemMessage,
    ToolCall,
    ToolCallMessage,
    ToolReturnMessage,
    UserMessage,
)

__all__ = [
    "PLUMBING",
    "SEND_MESSAGE",
    "Record",
    "found_message",
    "is_receipt",
    "is_well_formed",
    "pending",
    "to_messages",
    "to_openai",
    "well_formed",
]

SEND_MESSAGE = "send_message"
PLUMBING = frozenset({SEND_MESSAGE, "archival_memory_search", "conversation_search"})
"""Tools whose results recall search leaves out (they repeat what is stored elsewhere)."""
Role = Literal["user", "assistant", "tool", "system"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Record:
    """One message of the conversation, as the model saw it."""

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """An assistant record's calls."""
    tool_call_id: str | None = None
    """A tool record's call."""
    status: Literal["success", "error", "delivered"] | None = None
    """A tool record's outcome; ``"delivered"`` on an assistant record whose text was given to
    the user as the reply (the model answered in plain text even when asked for a tool)."""
    id: str = field(default_factory=lambda: new_id("message"))
    created_at: datetime = field(default_factory=_now)
    name: str | None = None
    """A tool record's tool name."""

    @property
    def search_text(self) -> str:
        """What recall search indexes: conversation, not plumbing (search results, receipts)."""
        if self.role == "tool":
            return "" if self.name in PLUMBING else self.content
        if self.role == "assistant":  # what it told the user, else its reasoning
            said = [_sent(c) for c in self.tool_calls if c.name == SEND_MESSAGE]
            return "\n".join(s for s in said if s) or self.content
        return self.content if self.role == "user" else ""

    def openai(self) -> dict[str, Any]:
        """This record in OpenAI chat format (``content`` never ``null``); built once."""
        cached = self.__dict__.get("_openai")
        if cached is None:
            cached = self.__dict__["_openai"] = self._openai()
        return cached

    def _openai(self) -> dict[str, Any]:
        if self.role == "tool":
            return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}
        message: dict[str, Any] = {"role": self.role, "content": self.content or ""}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.tool_call_id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return message


def to_openai(records: list[Record]) -> list[dict[str, Any]]:
    """The records as OpenAI chat messages."""
    return [r.openai() for r in records]


def is_well_formed(records: list[Record]) -> bool:
    """Whether every tool result follows its call and every call has exactly one result."""
    pending: set[str] = set()
    for record in records:
        if record.role == "tool":
            if record.tool_call_id not in pending:
                return False
            pending.discard(record.tool_call_id or "")
        elif pending:
            return False
        elif record.tool_calls:
            pending = {c.tool_call_id for c in record.tool_calls}
    return not pending


def pending(records: list[Record]) -> tuple[Record, ToolCall] | None:
    """The call awaiting approval, with its assistant record, if the history ends with one.

    A call awaiting approval is stored as it was made, with no result: the last assistant
    record, followed only by the results of its other calls. ``None`` also when ``records``
    holds only results (the window began inside the group).
    """
    answered: set[str] = set()
    for record in reversed(records):
        if record.role == "tool":
            answered.add(record.tool_call_id or "")
            continue
        if record.role != "assistant":
            return None
        waiting = [c for c in record.tool_calls if c.tool_call_id not in answered]
        return (record, waiting[0]) if waiting else None
    return None


def well_formed(records: list[Record], *, keep_pending: bool = False) -> list[Record]:
    """Records a model will accept: every call answered exactly once, no answer without call.

    An unanswered call gets an error result; a result without its call is dropped.
    ``keep_pending`` leaves a call awaiting approval at the end unanswered (as stored: a
    client's cache of the history), for the approval to answer.
    """
    waiting = pending(records) if keep_pending else None
    if waiting is not None:
        last = max(i for i, r in enumerate(records) if r is waiting[0])
        head = well_formed(records[:last])
        group = [r for r in records[last + 1 :] if r.tool_call_id in _ids(waiting[0])]
        return [*head, waiting[0], *_unique(group)]
    out: list[Record] = []
    unanswered: dict[str, Record] = {}
    for record in records:
        if record.role == "tool":
            if record.tool_call_id in unanswered:
                unanswered.pop(record.tool_call_id)
                out.append(record)
            continue
        out += _answer(unanswered)
        out.append(record)
        if record.role == "assistant":
            unanswered = {c.tool_call_id: record for c in record.tool_calls}
    out += _answer(unanswered)
    return out


def _ids(record: Record) -> set[str | None]:
    return {c.tool_call_id for c in record.tool_calls}


def _unique(results: list[Record]) -> list[Record]:
    """The first result of each call."""
    seen: set[str | None] = set()
    out = []
    for r in results:
        if r.tool_call_id not in seen:
            seen.add(r.tool_call_id)
            out.append(r)
    return out


def _answer(pending: dict[str, Record]) -> list[Record]:
    answers = [
        Record("tool", "Error: this call was interrupted; no result.", [], call_id, "error")
        for call_id in pending
    ]
    pending.clear()
    return answers


def _assistant(record: Record, failed: set[str], waiting: str | None = None) -> list[Message]:
    out: list[Message] = []
    date = record.created_at
    if record.status == "delivered":
        return [AssistantMessage(id=record.id, content=record.content, date=date)]
    if record.content:
        out.append(ReasoningMessage(id=f"{record.id}-r", reasoning=record.content, date=date))
    for i, c in enumerate(record.tool_calls):
        said = _sent(c) if c.name == SEND_MESSAGE and c.tool_call_id not in failed else None
        if said is not None:
            out.append(AssistantMessage(id=f"{record.id}-{i}", content=said, date=date))
        elif c.tool_call_id == waiting:
            out.append(ApprovalRequestMessage(id=f"{record.id}-{i}", tool_call=c, date=date))
        else:
            out.append(ToolCallMessage(id=f"{record.id}-{i}", tool_call=c, date=date))
    return out


def _sent(c: ToolCall) -> str | None:
    """The text a ``send_message`` call delivered, or ``None`` if its arguments were broken."""
    try:
        message = json.loads(c.arguments).get("message")
    except (ValueError, AttributeError, RecursionError):  # broken, or absurdly deep
        return None
    return message if isinstance(message, str) else None


def is_receipt(record: Record) -> bool:
    """Whether ``record`` is the plumbing result of a ``send_message`` that worked."""
    return record.role == "tool" and record.name == SEND_MESSAGE and record.status != "error"


def to_messages(records: list[Record]) -> list[Message]:
    """The typed messages users read, from records (``send_message`` receipts left out)."""
    failed = {r.tool_call_id or "" for r in records if r.role == "tool" and r.status == "error"}
    waiting = pending(records)
    call = waiting[1].tool_call_id if waiting else None
    out: list[Message] = []
    for r in records:
        if r.role == "user":
            out.append(UserMessage(id=r.id, content=r.content, date=r.created_at))
        elif r.role == "system":
            out.append(SystemMessage(id=r.id, content=r.content, date=r.created_at))
        elif r.role == "assistant":
            out += _assistant(r, failed, call if waiting and r is waiting[0] else None)
        elif not is_receipt(r):
            out.append(_tool_return(r))
    return out


def _tool_return(r: Record) -> ToolReturnMessage:
    return ToolReturnMessage(
        id=r.id,
        tool_return=r.content,
        status="error" if r.status == "error" else "success",
        tool_call_id=r.tool_call_id or "",
        date=r.created_at,
    )


def found_message(r: Record) -> Message:
    """The one message a recall search hit stands for (what its indexed text says)."""
    if r.role == "assistant":
        said = [_sent(c) for c in r.tool_calls if c.name == SEND_MESSAGE]
        text = "\n".join(s for s in said if s)
        if text or r.status == "delivered":
            return AssistantMessage(id=r.id, content=text or r.content, date=r.created_at)
        return ReasoningMessage(id=r.id, reasoning=r.content, date=r.created_at)
    if r.role == "tool":
        return _tool_return(r)
    return UserMessage(id=r.id, content=r.content, date=r.created_at)
