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

from agent._errors import AgentBusyError, ConfigError, NotFoundError
from agent._history import Record
from agent._memory import Block
from agent._messages import ToolCall
from agent._sql import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from agent._store_leases import LeaseRows
from agent._store_tools import ToolRow, ToolRows

__all__ = ["AgentRow", "LeaseLost", "Store", "ToolRow", "Versions", "default_path", "record"]

WAL_SIZE_LIMIT = 4 * 1024 * 1024
"""Bytes the write-ahead log is truncated to after a checkpoint (it never stays at its peak)."""

VERSIONS_QUERY = """
SELECT 'a', version, (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE agent_id = ?1 AND in_context = 1),
    (SELECT version FROM tools_state), 0
FROM agents WHERE id = ?1
UNION ALL
SELECT 'b', b.id, b.version, a.position, 0
FROM agent_blocks a JOIN blocks b ON b.id = a.block_id WHERE a.agent_id = ?1
ORDER BY 1, 4
"""  # noqa: E501


class LeaseLost(AgentBusyError):
    """A turn's lease was taken over while the turn ran; its step must not commit."""


def _create_private(path: Path) -> None:
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


class Store(LeaseRows, ToolRows):
    """One SQLite database."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            _create_private(Path(self.path))
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self._refuse_foreign()  # before anything is written, even the journal mode
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:  # a read-only directory: no room for the WAL
            self.db.close()
            raise ConfigError(
                self.path, [f"cannot be opened for writing: {e} (is its directory writable?)"]
            ) from None
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=5000")
        # after each checkpoint the WAL shrinks back to this size instead of staying at its peak
        self.db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        self._depth = 0
        self._migrate()

    def _refuse_foreign(self) -> None:
        """Refuse a database that holds tables but is not selfedit's (nothing is written)."""
        try:
            tables = [r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )]  # fmt: skip
        except sqlite3.DatabaseError as e:  # not a database at all
            self.db.close()
            raise ConfigError(self.path, [f"cannot be opened as a database: {e}"]) from None
        if tables and "schema_version" not in tables:
            self.db.close()
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise ConfigError(
                self.path,
                [f"is not a selfedit database (it holds other tables: {shown}); open another file"],
            )

    def _migrate(self) -> None:
        with self.transaction():
            found = self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            query = "SELECT version FROM schema_version"
            row = self.db.execute(query).fetchone() if found else None
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
        """Close the connection (checkpointing the WAL first)."""
        self.checkpoint()
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
            self.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0

    def _rollback(self) -> None:
        """End the open transaction, whatever state a failed write or commit left it in."""
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:  # SQLite already rolled back (disk full, I/O error)
                pass

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (after a storage failure, on close)."""
        with contextlib.suppress(sqlite3.Error):  # busy readers, a closed database: not now
            if self.path != ":memory:" and not self.db.in_transaction:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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
        """Store the recursive summary and how many messages it covers (a new agent version)."""
        self.db.execute(
            "UPDATE agents SET summary = ?, summarized = ?, summary_error = ?, "
            "version = version + 1 WHERE id = ?",
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
            self.db.execute("DELETE FROM leases WHERE agent_id = ?", (agent_id,))
            for block_id in ids:
                self.db.execute(
                    "DELETE FROM blocks WHERE id = ? AND id NOT IN "
                    "(SELECT block_id FROM agent_blocks)",
                    (block_id,),
                )

    # -- blocks --------------------------------------------------------------------------

    def save_block(self, block: Block) -> int:
        """Insert a block, or overwrite it unconditionally; returns its new version."""
        row = self.db.execute(
            'INSERT INTO blocks (id, label, value, "limit", description, read_only) '
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET label = excluded.label, "
            'value = excluded.value, "limit" = excluded."limit", '
            "description = excluded.description, read_only = excluded.read_only, "
            "version = blocks.version + 1 RETURNING version",
            (block.id, block.label, block.value, block.limit, block.description, block.read_only),
        ).fetchone()
        return int(row[0])

    def write_block(self, block: Block, version: int) -> int | None:
        """Write ``block`` if its stored version is still ``version``: its new version, or None."""
        row = self.db.execute(
            'UPDATE blocks SET label = ?, value = ?, "limit" = ?, description = ?, read_only = ?, '
            "version = version + 1 WHERE id = ? AND version = ? RETURNING version",
            (block.label, block.value, block.limit, block.description, block.read_only,
             block.id, version),
        ).fetchone()  # fmt: skip
        return None if row is None else int(row[0])

    def block_version(self, block_id: str) -> int | None:
        """A block's version (cheaper than reading it), or ``None``."""
        row = self.db.execute("SELECT version FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return None if row is None else int(row[0])

    def versioned_block(self, block_id: str) -> tuple[Block, int] | None:
        """A block and its version, or ``None``."""
        row = self.db.execute("SELECT * FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return (_block(row), int(row["version"])) if row else None

    def attach_blocks(self, agent_id: str, blocks: list[Block]) -> dict[str, int]:
        """Make ``blocks`` the agent's blocks, in order, saving the new ones; their versions."""
        self.db.execute("DELETE FROM agent_blocks WHERE agent_id = ?", (agent_id,))
        versions = {}
        for position, block in enumerate(blocks):
            stored = self.versioned_block(block.id)
            versions[block.id] = self.save_block(block) if stored is None else stored[1]
            self.db.execute(
                "INSERT OR REPLACE INTO agent_blocks VALUES (?, ?, ?)",
                (agent_id, block.id, position),
            )
        return versions

    def block(self, block_id: str) -> Block | None:
        """The block with this id, or ``None``."""
        row = self.db.execute("SELECT * FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return _block(row) if row else None

    def agent_blocks(self, agent_id: str) -> list[Block]:
        """An agent's blocks, in order."""
        return [block for block, _ in self.versioned_blocks(agent_id)]

    def versioned_blocks(self, agent_id: str) -> list[tuple[Block, int]]:
        """An agent's blocks in order, each with its version."""
        rows = self.db.execute(
            "SELECT b.* FROM blocks b JOIN agent_blocks a ON a.block_id = b.id "
            "WHERE a.agent_id = ? ORDER BY a.position",
            (agent_id,),
        ).fetchall()
        return [(_block(r), int(r["version"])) for r in rows]

    def versions(self, agent_id: str) -> Versions | None:
        """What changed, cheaply: the agent's version, its blocks' versions, the tools' state.

        One indexed query; ``None`` if the agent is gone.
        """
        rows = self.db.execute(VERSIONS_QUERY, (agent_id,)).fetchall()
        if not rows or rows[0][0] != "a":
            return None
        head = rows[0]
        blocks = tuple((r[1], int(r[2])) for r in rows[1:])
        return Versions(int(head[1]), int(head[2]), int(head[3]), blocks)

    def check_lease(self, agent_id: str, owner: str) -> int:
        """Inside a step's commit: does its turn still hold the agent's lease?

        Returns the newest in-context message's seq (``Versions.history``), read in the same
        query.

        Raises:
            NotFoundError: the agent was deleted.
            LeaseLost: ``owner`` no longer holds the lease (it stalled, and another turn took
                over): the caller's transaction must not commit.
        """
        held, mark = self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM leases WHERE agent_id = ?1 AND owner = ?2), "
            "(SELECT COALESCE(MAX(seq), 0) FROM messages WHERE agent_id = ?1 AND in_context = 1)",
            (agent_id, owner),
        ).fetchone()
        if held:
            return int(mark)
        if self.agent(agent_id) is None:
            raise NotFoundError(f"agent {agent_id!r} was deleted")
        raise LeaseLost(f"this turn lost its lease on agent {agent_id!r}")

    # -- changes from outside a turn (REST and client edits; each bumps the agent's version) --

    def update_agent(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        system: str | None = None,
        tools: list[dict[str, str | None]] | None = None,
    ) -> bool:
        """Change an agent's name, system prompt or tool references (``None``: unchanged).

        A new agent version, so running clients reload the row. False if there is no agent.
        """
        row = self.db.execute(
            "UPDATE agents SET name = COALESCE(?, name), system = COALESCE(?, system), "
            "tools = COALESCE(?, tools), version = version + 1 WHERE id = ? RETURNING version",
            (name, system, None if tools is None else json.dumps(tools), agent_id),
        ).fetchone()
        return row is not None

    def update_settings(self, agent_id: str, changes: dict[str, Any]) -> bool:
        """Set keys of an agent's settings (JSON), a new agent version; False if no agent."""
        row = self.db.execute(
            "UPDATE agents SET settings = json_patch(settings, ?), version = version + 1 "
            "WHERE id = ? RETURNING version",
            (json.dumps(changes), agent_id),
        ).fetchone()
        return row is not None

    def update_running(
        self,
        agent_id: str,
        *,
        model: str | None = None,
        embedding: str | None = None,
        max_steps: int | None = None,
    ) -> bool:
        """Change an agent's model, embedding model or step limit (``None``: unchanged).

        A new agent version, so running clients reload the row. False if there is no agent.
        """
        row = self.db.execute(
            "UPDATE agents SET model = COALESCE(?, model), embedding = COALESCE(?, embedding), "
            "max_steps = COALESCE(?, max_steps), version = version + 1 WHERE id = ? "
            "RETURNING version",
            (model, embedding, max_steps, agent_id),
        ).fetchone()
        return row is not None

    def reset_messages(self, agent_id: str) -> None:
        """Take every message out of the agent's context and clear its summary.

        The messages stay stored and searchable (recall memory); a new agent version.
        """
        self.db.execute(
            "UPDATE messages SET in_context = 0 WHERE agent_id = ? AND in_context = 1", (agent_id,)
        )
        self.db.execute(
            "UPDATE agents SET summary = '', summarized = 0, summary_error = NULL, "
            "version = version + 1 WHERE id = ?",
            (agent_id,),
        )

    def embedded_passages(self, agent_id: str) -> int:
        """How many of the agent's archival passages have a vector."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM passages WHERE agent_id = ? AND embedding IS NOT NULL",
            (agent_id,),
        ).fetchone()
        return int(row[0])

    def add_agent_block(self, agent_id: str, block_id: str) -> None:
        """Attach a stored block after the agent's others (a new agent version)."""
        self.db.execute(
            "INSERT OR IGNORE INTO agent_blocks VALUES (?1, ?2, (SELECT COALESCE(MAX(position), "
            "-1) + 1 FROM agent_blocks WHERE agent_id = ?1))",
            (agent_id, block_id),
        )
        self.db.execute("UPDATE agents SET version = version + 1 WHERE id = ?", (agent_id,))

    def remove_agent_block(self, agent_id: str, block_id: str) -> None:
        """Detach a block from the agent, keeping the block (a new agent version)."""
        self.db.execute(
            "DELETE FROM agent_blocks WHERE agent_id = ? AND block_id = ?", (agent_id, block_id)
        )
        self.db.execute("UPDATE agents SET version = version + 1 WHERE id = ?", (agent_id,))

    def all_blocks(self, label: str | None = None) -> list[Block]:
        """Every stored block (with this label, if given), oldest first."""
        rows = self.db.execute(
            "SELECT * FROM blocks WHERE ?1 IS NULL OR label = ?1 ORDER BY rowid", (label,)
        ).fetchall()
        return [_block(r) for r in rows]

    def delete_block(self, block_id: str) -> None:
        """Delete a block, detaching it from every agent first (each gets a new version)."""
        with self.transaction():
            self.db.execute(
                "UPDATE agents SET version = version + 1 WHERE id IN "
                "(SELECT agent_id FROM agent_blocks WHERE block_id = ?)",
                (block_id,),
            )
            self.db.execute("DELETE FROM agent_blocks WHERE block_id = ?", (block_id,))
            self.db.execute("DELETE FROM blocks WHERE id = ?", (block_id,))

    def delete_tool(self, tool_id: str) -> None:
        """Delete a stored tool, and every agent's reference to it (each a new version)."""
        with self.transaction():
            for agent in self.agents():
                kept = [
                    r for r in agent.tools if not (isinstance(r, dict) and r.get("id") == tool_id)
                ]
                if len(kept) != len(agent.tools):
                    self.update_agent(agent.id, tools=kept)
            self.db.execute("DELETE FROM tools WHERE id = ?", (tool_id,))

    # -- messages ------------------------------------------------------------------------

    def add_messages(self, agent_id: str, records: list[Record]) -> int | None:
        """Append records to an agent's history (in context); the last one's seq, if any."""
        if not records:
            return None
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
        # the FTS trigger's own inserts do not count: this is the last message's seq
        return int(self.db.execute("SELECT last_insert_rowid()").fetchone()[0])

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

    def last_reply(self, agent_id: str) -> list[Record]:
        """The newest in-context assistant record and every record after it, oldest first.

        One indexed read however long the history: what a call awaiting approval needs.
        """
        rows = self.db.execute(
            "SELECT * FROM messages WHERE agent_id = ?1 AND in_context = 1 AND seq >= "
            "(SELECT MAX(seq) FROM messages WHERE agent_id = ?1 AND in_context = 1 "
            "AND role = 'assistant') ORDER BY seq",
            (agent_id,),
        ).fetchall()
        return [record(r) for r in rows]


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
