"""selfedit objects as Letta's REST API shows them (the JSON ``letta_client`` 0.1.x reads).

Letta's client builds its models without validation, and its message lists are an
undiscriminated union in which ``message_type`` decides; so every object here carries the fields
the client requires and every message carries ``message_type``, ``id`` and ``date``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from agent._archival import Passage
from agent._mcp_source import McpTool
from agent._memory import Block, Memory
from agent._messages import (
    Message,
    ReasoningMessage,
    StopReason,
    ToolCallMessage,
    ToolReturnMessage,
    Usage,
    UsageStatistics,
)
from agent._registry import StoredTool
from agent._state import AgentState
from toolkit import Tool

__all__ = [
    "BASE_ID_PREFIX",
    "JSON",
    "MCP_ID_PREFIX",
    "agent_json",
    "block_json",
    "mcp_name",
    "mcp_tool_id",
    "memory_json",
    "messages_json",
    "passage_json",
    "tool_json",
    "usage_json",
]

JSON = dict[str, Any]
BASE_ID_PREFIX = "tool-base-"
"""Built-in tools have no stored row; over REST each has the id ``tool-base-<name>``."""
MCP_ID_PREFIX = "tool-mcp-"
"""An MCP server's tool has no stored row either: its id encodes ``SERVER/TOOL``."""


def mcp_tool_id(server: str, remote: str) -> str:
    """The REST id of the tool ``remote`` of the MCP server ``server`` (safe in a path)."""
    encoded = base64.urlsafe_b64encode(f"{server}/{remote}".encode()).decode().rstrip("=")
    return MCP_ID_PREFIX + encoded


def mcp_name(tool_id: str) -> str | None:
    """``"SERVER/TOOL"`` for an MCP tool's REST id, else ``None``."""
    if not tool_id.startswith(MCP_ID_PREFIX):
        return None
    encoded = tool_id.removeprefix(MCP_ID_PREFIX)
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return name if "/" in name else None


def _date(when: datetime) -> str:
    """ISO 8601 to the second, with the offset, as Letta dates messages."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.isoformat(timespec="seconds")


def block_json(block: Block) -> JSON:
    """A ``Block``."""
    return {
        "value": block.value,
        "limit": block.limit,
        "name": None,
        "is_template": False,
        "label": block.label,
        "description": block.description,
        "read_only": block.read_only,
        "metadata": {},
        "id": block.id,
        "organization_id": None,
        "created_by_id": None,
        "last_updated_by_id": None,
    }


def memory_json(memory: Memory) -> JSON:
    """A ``Memory``: the blocks, and how they are rendered into the prompt."""
    return {
        "blocks": [block_json(b) for b in memory],
        "prompt_template": memory.prompt_template,
    }


def tool_json(tool: StoredTool | Tool[..., Any]) -> JSON:
    """A ``Tool``: a stored one, a built-in (``tool_type`` ``letta_core``) or an MCP tool."""
    if isinstance(tool, McpTool):
        return _mcp_tool_json(tool)
    stored = isinstance(tool, StoredTool)
    tool_id = getattr(tool, "id", None)
    if not isinstance(tool_id, str) or not tool_id:
        tool_id = BASE_ID_PREFIX + tool.name
    schema = tool.json_schema if isinstance(tool, StoredTool) else tool.openai_schema()
    function = schema.get("function", {})
    builtin = tool_id.startswith(BASE_ID_PREFIX)
    return {
        "id": tool_id,
        "tool_type": "letta_core" if builtin else "custom",
        "description": tool.description,
        "source_type": "python",
        "name": tool.name,
        "tags": ["letta_core"] if builtin else [],
        "source_code": tool.source if stored or not builtin else None,
        "json_schema": {
            "name": function.get("name", tool.name),
            "description": function.get("description", tool.description),
            "parameters": function.get("parameters", {"type": "object", "properties": {}}),
        },
        "args_json_schema": None,
        "return_char_limit": getattr(tool, "return_char_limit", None)
        or (tool.options.get("return_char_limit") if isinstance(tool, StoredTool) else None),
        "organization_id": None,
        "metadata_": {},
    }


def _mcp_tool_json(tool: McpTool) -> JSON:
    """An MCP server's tool, as Letta shows one (``tool_type`` ``external_mcp``)."""
    return {
        "id": mcp_tool_id(tool.server, tool.remote),
        "tool_type": "external_mcp",
        "description": tool.description,
        "source_type": "python",
        "name": tool.name,
        "tags": [f"mcp:{tool.server}"],
        "source_code": None,
        "json_schema": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
        "args_json_schema": None,
        "return_char_limit": None,
        "organization_id": None,
        "metadata_": {"mcp": {"server_name": tool.server, "tool_name": tool.remote}},
    }


def agent_json(state: AgentState, window: int | None = None) -> JSON:
    """An ``AgentState``."""
    provider, _, model = state.model.rpartition("/")
    embedding = state.embedding or ""
    e_provider, _, e_model = embedding.rpartition("/")
    created = state.created_at.isoformat()
    return {
        "id": state.id,
        "name": state.name,
        "system": state.system,
        "agent_type": "memgpt_agent",
        "llm_config": {
            "model": model,
            "model_endpoint_type": provider or "openai",
            "model_endpoint": None,
            "context_window": window or state.context_window_limit,
            "put_inner_thoughts_in_kwargs": False,
            "handle": state.model,
            "temperature": 0.7,
            "max_tokens": None,
        },
        "embedding_config": {
            "embedding_endpoint_type": e_provider or "openai",
            "embedding_endpoint": None,
            "embedding_model": e_model,
            "embedding_dim": 0,
            "embedding_chunk_size": 300,
            "handle": state.embedding,
        },
        "memory": memory_json(state.memory),
        "tools": [tool_json(t) for t in state.tools],
        "tool_rules": [{"tool_name": "send_message", "type": "exit_loop"}],
        "message_ids": [],
        "sources": [],
        "tags": [],
        "metadata": None,
        "description": None,
        "created_at": created,
        "updated_at": created,
        "created_by_id": None,
        "last_updated_by_id": None,
        "organization_id": None,
        "tool_exec_environment_variables": [],
        "project_id": None,
        "template_id": None,
        "base_template_id": None,
        "identity_ids": [],
        "message_buffer_autoclear": False,
        "enable_sleeptime": None,
        "multi_agent_group": None,
    }


def passage_json(passage: Passage, agent_id: str) -> JSON:
    """A ``Passage`` (dates without an offset, as Letta sends them)."""
    created = passage.created_at.replace(tzinfo=None).isoformat()
    return {
        "id": passage.id,
        "text": passage.text,
        "agent_id": agent_id,
        "source_id": None,
        "file_id": None,
        "metadata": {"tags": passage.tags} if passage.tags else {},
        "is_deleted": False,
        "created_at": created,
        "updated_at": created,
        "created_by_id": None,
        "last_updated_by_id": None,
        "organization_id": None,
        "embedding": None,
        "embedding_config": None,
    }


def usage_json(usage: Usage) -> JSON:
    """``LettaUsageStatistics`` (the ``usage`` of a response and the stream's last chunk)."""
    return {
        "message_type": "usage_statistics",
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.total_tokens,
        "step_count": usage.step_count,
        "run_ids": None,
    }


def messages_json(
    messages: Iterable[Message], agent_name: str | None, *, streamed: bool = False
) -> list[JSON]:
    """Letta messages, in order; a stop reason is left out (0.1.x has no type for it).

    Tool returns are named after their tool (found from the call they answer).
    """
    tools: dict[str, str] = {}
    out: list[JSON] = []
    for message in messages:
        if isinstance(message, StopReason):
            continue
        if isinstance(message, UsageStatistics):
            out.append(usage_json(message))
            continue
        if isinstance(message, ToolCallMessage):
            tools[message.tool_call.tool_call_id] = message.tool_call.name
        out.append(message_json(message, agent_name, tools, streamed))
    return out


_PART = {
    "system_message": 0,
    "user_message": 1,
    "reasoning_message": 2,
    "tool_call_message": 3,
    "tool_return_message": 4,
    "assistant_message": 5,
}
"""The parts of one stored message share its id; each part's ``otid`` is its id and this."""


def message_json(
    message: Message, agent_name: str | None, tools: dict[str, str], streamed: bool
) -> JSON:
    """One Letta message."""
    fields = message.model_dump(mode="json", exclude={"id", "date", "message_type"})
    name = agent_name
    if isinstance(message, ToolReturnMessage):
        name = tools.get(message.tool_call_id, agent_name)
        fields["stdout"] = [] if streamed else None
        fields["stderr"] = [] if streamed else None
    if isinstance(message, ReasoningMessage):
        fields.update(source="non_reasoner_model", signature=None)
    return {
        "id": message.id,
        "date": _date(message.date),
        "name": name,
        "message_type": message.message_type,
        "otid": f"{message.id.removeprefix('message-')}-{_PART[message.message_type]}",
        "sender_id": None,
        **fields,
    }
