"""Stored tools' rows, read back as data only (see ``agent._registry``): a mixin of ``Store``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.store._statements import Connection

__all__ = ["ToolRow", "ToolRows"]


@dataclass(frozen=True)
class ToolRow:
    """A tool as stored (read back as data only: nothing in it runs here)."""

    id: str
    name: str
    source: str | None
    schema: dict[str, Any]
    source_hash: str | None
    reference: str | None = None
    """``module:qualname`` when the tool's function is importable."""
    spec: dict[str, Any] = field(default_factory=dict)
    """How to rebuild it: the function's name, the ``@tool`` options, the injected names."""
    override: bool = False
    """Whether it may take the name of a built-in tool."""
    sandbox: bool = False
    """Whether each call runs in a separate process."""
    version: int = 1
    """Bumped by every upsert."""


class ToolRows:
    """The ``tools`` table."""

    db: Connection

    def save_tool(self, row: ToolRow, created_at: datetime) -> ToolRow:
        """Insert or update a tool by name (keeping its id); the row as stored, new version."""
        self.db.execute(
            "INSERT INTO tools (id, name, source, schema, source_hash, created_at, reference, spec,"
            " override, sandbox) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE"
            " SET source = excluded.source, schema = excluded.schema, source_hash ="
            " excluded.source_hash, reference = excluded.reference, spec = excluded.spec,"
            " override = excluded.override, sandbox = excluded.sandbox,"
            " version = tools.version + 1",
            (row.id, row.name, row.source, json.dumps(row.schema), row.source_hash,
             created_at.isoformat(), row.reference, json.dumps(row.spec), row.override,
             row.sandbox),
        )  # fmt: skip
        saved = self.tool(name=row.name)
        assert saved is not None  # written just above, in the caller's transaction
        return saved

    def tool(self, *, id: str | None = None, name: str | None = None) -> ToolRow | None:
        """A tool by id or by name, or ``None``."""
        key, value = ("id", id) if id is not None else ("name", name)
        row = self.db.execute(f"SELECT * FROM tools WHERE {key} = ?", (value,)).fetchone()
        return _tool_row(row) if row else None

    def tools_named(self, names: list[str], ids: list[str] | None = None) -> list[ToolRow]:
        """The stored tools with these names or ids (those that are stored), in one query."""
        keys = [("name", list(dict.fromkeys(names))), ("id", list(dict.fromkeys(ids or [])))]
        where = " OR ".join(f"{k} IN ({', '.join('?' * len(v))})" for k, v in keys if v)
        if not where:
            return []
        params = [v for _, values in keys for v in values]
        rows = self.db.execute(f"SELECT * FROM tools WHERE {where}", params).fetchall()
        return [_tool_row(r) for r in rows]

    def tools(self) -> list[ToolRow]:
        """Every stored tool, by name."""
        rows = self.db.execute("SELECT * FROM tools ORDER BY name").fetchall()
        return [_tool_row(r) for r in rows]


def _tool_row(r: Any) -> ToolRow:
    """A ``tools`` row as data; a malformed field reads as empty (the registry says what broke)."""
    schema, spec = _json_object(r["schema"]), _json_object(r["spec"])
    return ToolRow(
        r["id"], str(r["name"]), _text(r["source"]), schema, _text(r["source_hash"]),
        _text(r["reference"]), spec, bool(r["override"]), bool(r["sandbox"]),
        r["version"] if isinstance(r["version"], int) else 0,
    )  # fmt: skip


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
