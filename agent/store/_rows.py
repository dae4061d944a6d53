"""Rows as the stores read them back, and small pieces of SQL and JSON both backends share."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agent._history import Record
from agent._memory import Block
from agent._messages import ToolCall

__all__ = [
    "AgentRow",
    "Versions",
    "agent_row",
    "block_row",
    "create_private",
    "date_filter",
    "default_path",
    "merge_patch",
    "record",
]


def create_private(path: Path) -> None:
    """Create the database file readable by its owner alone (0600; a new directory 0700).

    The database holds conversations and tool code: other local users must not read it.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


@dataclass(frozen=True)
class Versions:
    """What ``Store.versions`` reports: enough to tell, in one query, what changed."""

    agent: int
    """The agent row's version: its settings, tools, blocks attached, summary and evictions."""
    history: int
    """The newest in-context message's seq (another client's turn moves it)."""
    tools: int
    """A number that moves with every write to the stored tools."""
    blocks: tuple[tuple[str, int], ...]
    """The agent's blocks in order: (id, version)."""


def default_path() -> Path:
    """``$SELFEDIT_HOME/selfedit.db``, by default ``~/.selfedit/selfedit.db``."""
    home = os.environ.get("SELFEDIT_HOME") or Path.home() / ".selfedit"
    return Path(home) / "selfedit.db"


@dataclass(frozen=True)
class AgentRow:
    """An agent as stored."""

    id: str
    name: str
    system: str
    model: str
    embedding: str | None
    max_steps: int
    created_at: datetime
    tools: list[dict[str, str | None]]
    settings: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    summarized: int = 0
    summary_error: str | None = None


def agent_row(r: Mapping[str, Any]) -> AgentRow:
    return AgentRow(
        r["id"], r["name"], r["system"], r["model"], r["embedding"], r["max_steps"],
        datetime.fromisoformat(r["created_at"]), json.loads(r["tools"]),
        json.loads(r["settings"]), r["summary"], r["summarized"], r["summary_error"],
    )  # fmt: skip


def block_row(r: Mapping[str, Any]) -> Block:
    return Block(
        id=r["id"], label=r["label"], value=r["value"], limit=r["limit"],
        description=r["description"], read_only=bool(r["read_only"]),
    )  # fmt: skip


def record(r: Mapping[str, Any]) -> Record:
    """A ``messages`` row as a ``Record``."""
    calls = [ToolCall(**c) for c in json.loads(r["tool_calls"])] if r["tool_calls"] else []
    return Record(
        r["role"], r["content"], calls, r["tool_call_id"], r["status"], r["id"],
        datetime.fromisoformat(r["created_at"]), r["name"],
    )  # fmt: skip


def date_filter(start: str | None, end: str | None) -> tuple[str, list[str]]:
    """Conditions keeping messages ``m`` with ``start <= created_at < end``, and parameters."""
    where, params = "", list[str]()
    if start:
        where, params = where + " AND m.created_at >= ?", [*params, start]
    if end:
        where, params = where + " AND m.created_at < ?", [*params, end]
    return where, params


def merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` as a JSON merge patch (RFC 7396): ``None`` deletes."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
