"""Which tool a name or an id means: the standard tools, and tools stored by source."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import stdlib_tools
from agent._errors import NotFoundError
from agent._ids import new_id
from agent._store import Store, ToolRow
from toolkit import SchemaError, Tool

__all__ = ["StoredTool", "ToolRegistry", "source_hash"]


def source_hash(source: str | None) -> str | None:
    """A stable fingerprint of a tool's source."""
    return hashlib.sha256(source.encode()).hexdigest()[:16] if source else None


@dataclass(frozen=True)
class StoredTool:
    """A tool registered with the client (what ``client.tools`` returns)."""

    id: str
    """The tool's id, stable across upserts of the same name."""
    name: str
    """The tool's name."""
    description: str
    """What the model reads about it."""
    source: str | None
    """The function's source, from which a new process rebuilds it."""
    source_hash: str | None
    """A fingerprint of ``source``."""
    json_schema: dict[str, Any]
    """The OpenAI schema."""


def _stored(row: ToolRow) -> StoredTool:
    description = str(row.schema.get("function", {}).get("description", ""))
    return StoredTool(row.id, row.name, description, row.source, row.source_hash, row.schema)


class ToolRegistry:
    """Tools by name and id: the standard set, then tools upserted into the store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._live: dict[str, Tool[..., Any]] = {}  # by id: tools built in this process

    @staticmethod
    def standard() -> dict[str, Tool[..., Any]]:
        """The tools of ``stdlib_tools``, by name."""
        found = (getattr(stdlib_tools, n) for n in stdlib_tools.__all__)
        return {t.name: t for t in found if isinstance(t, Tool)}

    def upsert(self, func: Callable[..., Any] | Tool[..., Any]) -> StoredTool:
        """Register ``func`` by name: the same name keeps its id; its source and schema update."""
        tool = func if isinstance(func, Tool) else Tool.from_function(func)
        existing = self._store.tool(name=tool.name)
        row = ToolRow(
            existing.id if existing else new_id("tool"),
            tool.name,
            tool.source,
            tool.openai_schema(False),
            source_hash(tool.source),
        )
        with self._store.transaction():
            self._store.save_tool(row, datetime.now(timezone.utc))
        self._live[row.id] = tool
        return _stored(row)

    def by_id(self, tool_id: str) -> Tool[..., Any]:
        """The tool with this id: the live one, else rebuilt from its stored source."""
        if tool_id in self._live:
            return self._live[tool_id]
        row = self._store.tool(id=tool_id)
        if row is None:
            raise NotFoundError(f"no tool with id {tool_id!r}")
        if not row.source:
            raise SchemaError(
                f"tool {row.name!r}", ["it was stored without source; upsert it again"]
            )
        tool = Tool.from_source(row.source, row.name)
        self._live[tool_id] = tool
        return tool

    def by_name(self, name: str) -> Tool[..., Any]:
        """A tool by name: one upserted under that name, else the standard one."""
        standard = self.standard()
        row = self._store.tool(name=name)
        if row is None and name in standard:
            return standard[name]
        if row is None:
            known = ", ".join([*standard, *(r.name for r in self._store.tools())])
            raise NotFoundError(f"no tool named {name!r}; known tools: {known}")
        return self.by_id(row.id)

    def ref(self, tool: Tool[..., Any]) -> dict[str, str | None]:
        """How an agent stores its reference to ``tool``."""
        if self.standard().get(tool.name) is tool:
            return {"name": tool.name, "id": None}
        row = self._store.tool(name=tool.name)
        return {"name": tool.name, "id": row.id if row else None}

    def resolve(self, ref: dict[str, str | None]) -> Tool[..., Any]:
        """The tool a stored reference names."""
        tool_id = ref.get("id")
        return self.by_id(tool_id) if tool_id else self.by_name(str(ref["name"]))

    def list(self) -> list[StoredTool]:
        """Every upserted tool."""
        return [_stored(r) for r in self._store.tools()]
