"""``AgentState``: what an agent is, and what its tools see through ``agent_state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from agent._archival import ArchivalMemory
from agent._context import ContextConfig
from agent._ids import new_id
from agent._memory import Memory
from agent._recall import RecallMemory
from agent._rules import RequiresApprovalToolRule, ToolRule
from toolkit import Tool

__all__ = ["DEFAULT_SYSTEM", "AgentState"]

DEFAULT_SYSTEM = """\
You are a helpful agent with a memory you edit yourself.

Every action you take is a tool call. The user sees only what you send with send_message, and
calling send_message ends your turn: do everything else first (edit memory, search), then send
one message.

Your core memory (below) is always in view: blocks labelled by what they hold, such as facts
about the human you talk to ("human") and about yourself ("persona"). When you learn something
that should last, save it with core_memory_append, or correct a block with core_memory_replace.
Keep blocks short: each has a size limit."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(eq=False)
class AgentState:
    """An agent: its prompt, its core memory and its tools.

    Tools receive the live state as ``agent_state``; a change to ``agent_state.memory`` made
    by a tool that succeeds is persisted, and undone if the tool fails.
    """

    name: str
    """A name for people (unique names are not enforced)."""
    system: str = DEFAULT_SYSTEM
    """The system prompt (compiled memory is appended to it in every request)."""
    memory: Memory = field(default_factory=Memory)
    """Core memory: the blocks the agent always sees."""
    tools: list[Tool[..., Any]] = field(default_factory=list)
    """The tools the agent can call, in order."""
    model: str = "openai/gpt-4o-mini"
    """The model's name (``"openai/gpt-4o-mini"``)."""
    embedding: str | None = None
    """The embedding model's name, if any."""
    max_steps: int = 20
    """The most model calls in one turn."""
    context_window_limit: int | None = None
    """The model's window in tokens; ``None``: known for the model, or a safe default."""
    context: ContextConfig = field(default_factory=lambda: ContextConfig())
    """When to evict, how far, and when to warn the model (fractions of the window)."""
    tool_rules: list[ToolRule] = field(default_factory=list)
    """Which tools may be called when, and which need a person's approval (``ToolRule``)."""
    id: str = field(default_factory=lambda: new_id("agent"))
    """The agent's id."""
    created_at: datetime = field(default_factory=_now)
    """When it was created (UTC)."""
    archival: ArchivalMemory | None = field(default=None, repr=False)
    """Archival memory (set when the agent is loaded by a client)."""
    recall: RecallMemory | None = field(default=None, repr=False)
    """Recall memory: the whole conversation, searchable (set by a client)."""

    @property
    def tool_names(self) -> list[str]:
        """The names of the agent's tools."""
        return [t.name for t in self.tools]

    @property
    def requires_approval(self) -> list[str]:
        """The tools whose calls wait for a person's approval."""
        return [r.tool_name for r in self.tool_rules if isinstance(r, RequiresApprovalToolRule)]

    def compile_system(self) -> str:
        """The system prompt with core memory, as the model sees it."""
        if not len(self.memory):
            return self.system
        return f"{self.system}\n\n{self.memory.compile()}"

    def __repr__(self) -> str:
        return f"AgentState(id={self.id!r}, name={self.name!r}, tools={self.tool_names!r})"
