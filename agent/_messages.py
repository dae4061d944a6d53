"""The typed messages of a conversation, as the client returns them.

Each has a ``message_type`` (the discriminator), an ``id`` and a ``date``. ``Message`` is their
union; ``Response`` is what one turn returns.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent._ids import new_id

__all__ = [
    "ApprovalCreate",
    "ApprovalRequestMessage",
    "AssistantMessage",
    "Message",
    "ReasoningMessage",
    "Response",
    "StopReason",
    "StopReasonType",
    "SystemMessage",
    "ToolCall",
    "ToolCallMessage",
    "ToolReturnMessage",
    "Usage",
    "UsageStatistics",
    "UserMessage",
]

StopReasonType = Literal["end_turn", "max_steps", "no_tool_call", "error", "requires_approval"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _new_id() -> str:
    return new_id("message")


class _Base(BaseModel):
    id: str = Field(default_factory=_new_id)
    """The message's id."""
    date: datetime = Field(default_factory=_now)
    """When it was created (UTC)."""


class UserMessage(_Base):
    """What the user said."""

    message_type: Literal["user_message"] = "user_message"
    content: str
    """The text."""


class AssistantMessage(_Base):
    """What the agent said to the user (through ``send_message``)."""

    message_type: Literal["assistant_message"] = "assistant_message"
    content: str
    """The text."""


class ReasoningMessage(_Base):
    """Text the model wrote beside its tool calls: its reasoning, not shown as a reply."""

    message_type: Literal["reasoning_message"] = "reasoning_message"
    reasoning: str
    """The text."""


class ToolCall(BaseModel):
    """One call the model made."""

    name: str
    """The tool's name."""
    arguments: str
    """The arguments, as the JSON text the model wrote."""
    tool_call_id: str
    """The id that pairs the call with its return."""


class ToolCallMessage(_Base):
    """The model called a tool."""

    message_type: Literal["tool_call_message"] = "tool_call_message"
    tool_call: ToolCall
    """The call."""


class ApprovalRequestMessage(_Base):
    """The model called a tool that needs a person's approval; the turn stopped before it ran.

    Answer with ``messages.create(agent_id, messages=[{"type": "approval", "approve": ...}])``.
    """

    message_type: Literal["approval_request_message"] = "approval_request_message"
    tool_call: ToolCall
    """The call waiting for approval."""


class ApprovalCreate(BaseModel):
    """A person's answer to an ``ApprovalRequestMessage``, sent as a message to resume the turn."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["approval"] = "approval"
    approve: bool
    """Run the call (``True``), or refuse it (``False``: the model gets a tool error)."""
    approval_request_id: str | None = None
    """The request answered (its message id or its call's ``tool_call_id``); ``None``: the one
    pending."""
    reason: str | None = None
    """Why; a denial's reason is shown to the model."""


class ToolReturnMessage(_Base):
    """What a tool gave back."""

    message_type: Literal["tool_return_message"] = "tool_return_message"
    tool_return: str
    """The text the model read."""
    status: Literal["success", "error"]
    """Whether the call succeeded."""
    tool_call_id: str
    """The call this answers."""


class SystemMessage(_Base):
    """A note from the system (an error, a warning)."""

    message_type: Literal["system_message"] = "system_message"
    content: str
    """The text."""


class Usage(BaseModel):
    """Tokens used and model calls made."""

    prompt_tokens: int = 0
    """Tokens sent, summed over the turn's model calls."""
    completion_tokens: int = 0
    """Tokens generated, summed."""
    total_tokens: int = 0
    """Their sum."""
    step_count: int = 0
    """Model calls made."""


class UsageStatistics(Usage, _Base):
    """The usage of a turn, as the last-but-one item of a stream."""

    message_type: Literal["usage_statistics"] = "usage_statistics"


class StopReason(_Base):
    """Why the turn ended, as the last item of a stream."""

    message_type: Literal["stop_reason"] = "stop_reason"
    stop_reason: StopReasonType
    """``end_turn``, ``max_steps``, ``no_tool_call``, ``error`` or ``requires_approval``."""


Message = Annotated[
    UserMessage
    | AssistantMessage
    | ReasoningMessage
    | ToolCallMessage
    | ApprovalRequestMessage
    | ToolReturnMessage
    | SystemMessage
    | UsageStatistics
    | StopReason,
    Field(discriminator="message_type"),
]


class Response(BaseModel):
    """What one turn returns."""

    messages: list[Message]
    """What happened, in order: reasoning, tool calls and returns, the reply."""
    usage: Usage
    """Tokens and model calls of the turn."""
    stop_reason: StopReasonType
    """Why the turn ended."""
