"""The request bodies the server accepts, as ``letta_client`` 0.1.x sends them.

Keys the client may send that selfedit has no use for are accepted and ignored (Letta's
requests carry many optional settings); a wrong type is a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgentCreate",
    "AgentModify",
    "BlockCreate",
    "BlockModify",
    "MessageCreate",
    "MessageIn",
    "PassageCreate",
    "ToolUpsert",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class BlockCreate(_Body):
    """A memory block to create (``memory_blocks[]``, ``POST /v1/blocks/``)."""

    label: str
    """Its label."""
    value: str
    """Its text."""
    limit: int | None = None
    """Its size limit in characters (Letta's default: 5000)."""
    description: str | None = None
    """What it is for."""
    read_only: bool | None = None
    """Whether the agent's tools may not change it."""


class AgentCreate(_Body):
    """``POST /v1/agents/``."""

    name: str | None = None
    """A name (invented when omitted)."""
    memory_blocks: list[BlockCreate] = Field(default_factory=list)
    """The core memory blocks."""
    model: str | None = None
    """``provider/name``."""
    embedding: str | None = None
    """``provider/name``."""
    system: str | None = None
    """Replaces the default system prompt."""
    tools: list[str] = Field(default_factory=list)
    """Tool names."""
    tool_ids: list[str] = Field(default_factory=list)
    """Tool ids (from ``PUT /v1/tools/``)."""
    block_ids: list[str] = Field(default_factory=list)
    """Existing blocks to attach."""
    include_base_tools: bool = True
    """Add the base memory tools and ``send_message``."""
    context_window_limit: int | None = None
    """The model's window in tokens."""
    tool_rules: list[dict[str, Any]] | None = None
    """Letta's tool rules (``{"type": "run_first", "tool_name": ...}``, ...; see
    docs/agents.md for the types selfedit knows)."""


class AgentModify(_Body):
    """``PATCH /v1/agents/{agent_id}``: what is not set stays as it is.

    Letta's other settings (tags, configs, ...) are kept as extra keys, so that one given a
    value can be answered with a 501 naming it.
    """

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    """A new name."""
    system: str | None = None
    """A new system prompt."""
    model: str | None = None
    """A new model, ``provider/name``: running turns use it from their next model call."""
    embedding: str | None = None
    """A new embedding model (refused while archival memory holds vectors of another)."""
    context_window_limit: int | None = None
    """The model's window in tokens (selfedit's; Letta sets it in ``llm_config``)."""
    tool_rules: list[dict[str, Any]] | None = None
    """The agent's tool rules, replacing the current ones."""
    tool_ids: list[str] | None = None
    """The agent's tools, replacing the current ones."""
    block_ids: list[str] | None = None
    """The agent's blocks, replacing the current ones, in order."""


class MessageIn(_Body):
    """One input message."""

    role: str = "user"
    """Only ``user`` is accepted."""
    content: str | list[dict[str, Any]]
    """Text, or OpenAI-style content parts."""


class MessageCreate(_Body):
    """``POST /v1/agents/{agent_id}/messages`` (and ``/stream``)."""

    messages: list[MessageIn] = Field(min_length=1)
    """The user's messages."""
    stream_tokens: bool | None = None
    """On the stream endpoint: the reply in chunks as the model writes it."""


class BlockModify(_Body):
    """``PATCH`` of a block."""

    value: str | None = None
    """The new text."""
    limit: int | None = None
    """The new limit."""
    description: str | None = None
    """The new description."""
    label: str | None = None
    """Renaming a block is not supported."""


class PassageCreate(_Body):
    """``POST /v1/agents/{agent_id}/archival-memory``."""

    text: str
    """The passage."""


class ToolUpsert(_Body):
    """``PUT /v1/tools/`` (and ``POST``): a tool from its Python source."""

    source_code: str
    """The function's source: name, description and schema are derived from it."""
    source_type: str | None = None
    """Only ``python``."""
    args_json_schema: dict[str, Any] | None = None
    """Not supported: the schema comes from the signature and docstring."""
    json_schema: dict[str, Any] | None = None
    """Not supported, as above."""
