"""SQLite storage: agents, blocks (shareable), messages and tools, in one file.

The standard library's ``sqlite3`` in WAL mode. A step's messages and block changes are written
in one transaction (``transaction()``), so a crash leaves the conversation consistent.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agent._history import Record
from agent._memory import Block
from agent._messages import ToolCall
from agent._sql import MIGRATIONS, SCHEMA, SCHEMA_VERSION

__all__ = ["AgentRow", "Store", "ToolRow", "default_path", "record"]


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


@dataclass(frozen=True)
class ToolRow:
    """A tool as stored."""

    id: str
    name: str
    source: str | None
    schema: dict[str, Any]
    source_hash: str | None


class Store:
    """One SQLite database."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._depth = 0
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction():
            found = self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            row = self.db.execute("SELECT version FROM schema_version").fetchone() if found else None
            version = SCHEMA_VERSION if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema version {version} is newer than this code")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    self.db.execute(statement)
            for statement in SCHEMA:
                self.db.execute(statement)
            self.db.execute("DELETE FROM schema_version")
            self.db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nested uses join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- agents --------------------------------------------------------------------------

    def save_agent(self, row: AgentRow) -> None:
        """Insert a new agent's row."""
        self.db.execute(
            "INSERT INTO agents (id, name, system, model, embedding, max_steps, created_at, tools,"
            " settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id, row.name, row.system, row.model, row.embedding, row.max_steps,
                row.created_at.isoformat(), json.dumps(row.tools), json.dumps(row.settings),
            ),
        )  # fmt: skip

    def evict(self, agent_id: str, ids: list[str]) -> None:
        """Take messages out of the agent's context (they stay stored, and searchable)."""
        self.db.executemany(
            "UPDATE messages SET in_context = 0 WHERE agent_id = ? AND id = ?",
            [(agent_id, i) for i in ids],
        )

    def save_summary(self, agent_id: str, summary: str, summarized: int, error: str | None) -> None:
        """Store the recursive summary and how many messages it covers."""
        self.db.execute(
            "UPDATE agents SET summary = ?, summarized = ?, summary_error = ? WHERE id = ?",
            (summary, summarized, error, agent_id),
        )

    def count_messages(self, agent_id: str) -> int:
        """How many messages an agent has stored."""
        row = self.db.execute("SELECT COUNT(*) FROM messages WHERE agent_id = ?", (agent_id,))
        return int(row.fetchone()[0])

    def agent(self, agent_id: str) -> AgentRow | None:
        """The agent with this id, or ``None``."""
        row = self.db.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
        return _agent_row(row) if row else None

    def agents(self) -> list[AgentRow]:
        """Every agent, oldest first."""
        rows = self.db.execute("SELECT * FROM agents ORDER BY created_at").fetchall()
        return [_agent_row(r) for r in rows]

    def delete_agent(self, agent_id: str) -> None:
        """Delete an agent, its messages, and blocks no other agent uses."""
        with self.transaction():
            ids = [r[0] for r in self.db.execute(
                "SELECT block_id FROM agent_blocks WHERE agent_id = ?", (agent_id,)
            )]  # fmt: skip
            self.db.execute("DELETE FROM agents WHERE id = ?", (agent_id,))
            for block_id in ids:
                self.db.execute(
                    "DELETE FROM blocks WHERE id = ? AND id NOT IN "
                    "(SELECT block_id FROM agent_blocks)",
                    (block_id,),
                )

    # -- blocks --------------------------------------------------------------------------

    def save_block(self, block: Block) -> None:
        """Insert or update a block."""
        self.db.execute(
            'INSERT INTO blocks (id, label, value, "limit", description, read_only) '
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET label = excluded.label, "
            'value = excluded.value, "limit" = excluded."limit", '
            "description = excluded.description, read_only = excluded.read_only",
            (block.id, block.label, block.value, block.limit, block.description, block.read_only),
        )

    def attach_blocks(self, agent_id: str, blocks: list[Block]) -> None:
        """Save ``blocks`` and make them the agent's blocks, in order."""
        self.db.execute("DELETE FROM agent_blocks WHERE agent_id = ?", (agent_id,))
        for position, block in enumerate(blocks):
            self.save_block(block)
            self.db.execute(
                "INSERT OR REPLACE INTO agent_blocks VALUES (?, ?, ?)",
                (agent_id, block.id, position),
            )

    def block(self, block_id: str) -> Block | None:
        """The block with this id, or ``None``."""
        row = self.db.execute("SELECT * FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return _block(row) if row else None

    def agent_blocks(self, agent_id: str) -> list[Block]:
        """An agent's blocks, in order."""
        rows = self.db.execute(
            "SELECT b.* FROM blocks b JOIN agent_blocks a ON a.block_id = b.id "
            "WHERE a.agent_id = ? ORDER BY a.position",
            (agent_id,),
        ).fetchall()
        return [_block(r) for r in rows]

    # -- messages ------------------------------------------------------------------------

    def add_messages(self, agent_id: str, records: list[Record]) -> None:
        """Append records to an agent's history (in context)."""
        self.db.executemany(
            "INSERT INTO messages (id, agent_id, role, content, tool_calls, tool_call_id, name,"
            " status, created_at, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.id, agent_id, r.role, r.content,
                    json.dumps([c.model_dump() for c in r.tool_calls]) if r.tool_calls else None,
                    r.tool_call_id, r.name, r.status, r.created_at.isoformat(), r.search_text,
                )
                for r in records
            ],
        )  # fmt: skip

    def messages(
        self,
        agent_id: str,
        *,
        in_context: bool = False,
        limit: int | None = None,
        skip_receipts: bool = False,
    ) -> list[Record]:
        """An agent's records, oldest first (only those in context, or the newest ``limit``).

        ``skip_receipts`` leaves out the results of ``send_message`` calls that worked.
        """
        where = "agent_id = ?" + (" AND in_context = 1" if in_context else "")
        if skip_receipts:
            where += " AND NOT (role = 'tool' AND name = 'send_message' AND status != 'error')"
        query = f"SELECT * FROM messages WHERE {where} ORDER BY seq DESC LIMIT ?"
        rows = self.db.execute(query, (agent_id, -1 if limit is None else limit)).fetchall()
        return [record(r) for r in reversed(rows)]

    # -- tools ---------------------------------------------------------------------------

    def save_tool(self, row: ToolRow, created_at: datetime) -> None:
        """Insert or update a tool by name (keeping its id)."""
        self.db.execute(
            "INSERT INTO tools VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
            "source = excluded.source, schema = excluded.schema, "
            "source_hash = excluded.source_hash",
            (row.id, row.name, row.source, json.dumps(row.schema), row.source_hash,
             created_at.isoformat()),
        )  # fmt: skip

    def tool(self, *, id: str | None = None, name: str | None = None) -> ToolRow | None:
        """A tool by id or by name, or ``None``."""
        key, value = ("id", id) if id is not None else ("name", name)
        row = self.db.execute(f"SELECT * FROM tools WHERE {key} = ?", (value,)).fetchone()
        return _tool_row(row) if row else None

    def tools(self) -> list[ToolRow]:
        """Every stored tool, by name."""
        rows = self.db.execute("SELECT * FROM tools ORDER BY name").fetchall()
        return [_tool_row(r) for r in rows]


def _agent_row(r: sqlite3.Row) -> AgentRow:
    return AgentRow(
        r["id"], r["name"], r["system"], r["model"], r["embedding"], r["max_steps"],
        datetime.fromisoformat(r["created_at"]), json.loads(r["tools"]),
        json.loads(r["settings"]), r["summary"], r["summarized"], r["summary_error"],
    )  # fmt: skip


def _block(r: sqlite3.Row) -> Block:
    return Block(
        id=r["id"], label=r["label"], value=r["value"], limit=r["limit"],
        description=r["description"], read_only=bool(r["read_only"]),
    )  # fmt: skip


def record(r: sqlite3.Row) -> Record:
    """A ``messages`` row as a ``Record``."""
    calls = [ToolCall(**c) for c in json.loads(r["tool_calls"])] if r["tool_calls"] else []
    return Record(
        r["role"], r["content"], calls, r["tool_call_id"], r["status"], r["id"],
        datetime.fromisoformat(r["created_at"]), r["name"],
    )  # fmt: skip


def _tool_row(r: sqlite3.Row) -> ToolRow:
    return ToolRow(r["id"], r["name"], r["source"], json.loads(r["schema"]), r["source_hash"])
