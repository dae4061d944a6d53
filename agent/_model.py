"""The model interface: one async call from a request to a reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["Model", "ModelRequest", "ModelResponse", "ModelToolCall", "ModelUsage", "ToolChoice"]

ToolChoice = Literal["auto", "required", "none"] | str
"""``"required"`` (the default), ``"auto"``, ``"none"``, or the name of the one tool to call."""


@dataclass(frozen=True)
class ModelRequest:
    """Everything a model needs for one reply."""

    messages: list[dict[str, Any]]
    """The history in OpenAI chat format, system prompt first."""
    tools: list[dict[str, Any]]
    """Each tool's ``openai_schema()``."""
    tool_choice: ToolChoice = "required"
    """Which tool call is expected; a tool's name forces that tool."""

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered."""
        return [t["function"]["name"] for t in self.tools]

    @property
    def last_user_message(self) -> str | None:
        """The text of the newest user message, if any."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return str(message["content"])
        return None


@dataclass(frozen=True)
class ModelToolCall:
    """One tool call in a reply."""

    name: str
    """The tool's name."""
    arguments: str
    """JSON text, exactly as the model wrote it."""
    id: str
    """The call's id."""


@dataclass(frozen=True)
class ModelUsage:
    """Tokens of one model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ModelResponse:
    """A model's reply: text, tool calls, or both."""

    text: str | None = None
    """Text the model wrote (reasoning beside tool calls, or a plain answer)."""
    tool_calls: list[ModelToolCall] = field(default_factory=list)
    """The calls, in order."""
    usage: ModelUsage = field(default_factory=ModelUsage)
    """Tokens used."""
    finish_reason: str | None = None
    """Why the model stopped, as the provider says."""


@runtime_checkable
class Model(Protocol):
    """Anything that can answer a ``ModelRequest``."""

    name: str
    """A name for logs and storage (``"openai/gpt-4o-mini"``)."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Return the model's reply to ``request``."""
        ...
