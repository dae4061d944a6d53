"""The store both backends share: agents, blocks, messages and leases, in portable SQL.

A backend (``agent.store._sqlite``, ``agent.store._postgres``) supplies the connection, how a
write transaction begins, and its dialect's own parts: appending messages, full-text search and
vector search. Everything else is written here once, in the SQL both engines speak, with ``?``
placeholders (``?1`` for a parameter used twice).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from agent._errors import AgentBusyError, NotFoundError
from agent._history import Record
from agent._memory import Block
from agent.store._leases import LeaseRows
from agent.store._passages import PassageRows, PassageSearch
from agent.store._rows import AgentRow, Versions, agent_row, block_row, merge_patch, record
from agent.store._statements import (
    CHECK_LEASE,
    INSERT_MESSAGE,
    VERSIONS_QUERY,
    WRITE_BLOCK,
    Connection,
    message_rows,
    write_params,
)
from agent.store._tools import ToolRows

__all__ = ["Connection", "LeaseLost", "Store"]


class LeaseLost(AgentBusyError):
    """A turn's lease was taken over while the turn ran; its step must not commit."""


class Store(LeaseRows, ToolRows, PassageRows):
    """One database: the SQL both backends share, written in the subset both speak.

    A backend supplies the connection (``db``), how a write transaction begins, and what its
    dialect does differently: appending messages, full-text and vector search.
    """

    db: Connection
    path: str
    """Where the data lives: a file, ``:memory:``, or a PostgreSQL URL (password hidden)."""
    errors: tuple[type[Exception], ...] = ()
    """The backend's own error classes (a failed write, a lost connection)."""
    block_order = "rowid"
    """The column that orders blocks by creation."""
    remote = False
    """Whether a read is a round trip to a server (PostgreSQL): worth batching, and awaited on
    async connections where the backend has them (the ``a...`` methods)."""

    def __init__(self) -> None:
        self._depth = 0

    def _begin(self) -> None:
        """Open a write transaction: one writer at a time, across processes and hosts."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- reads that need not block the event loop (a backend with async connections awaits
    # them; these defaults, for an embedded database, answer at once) --

    async def aversions_of(self, agent_ids: list[str]) -> dict[str, Versions]:
        """``versions`` of several agents, by id (a deleted agent is left out)."""
        found = {agent_id: self.versions(agent_id) for agent_id in agent_ids}
        return {agent_id: v for agent_id, v in found.items() if v is not None}

    async def ablock_versions(self, block_ids: list[str]) -> dict[str, int]:
        """``block_versions``, awaited."""
        return self.block_versions(block_ids)

    async def asearch_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """``search_messages``, awaited."""
        return self.search_messages(agent_id, query, start, end, page, size)

    async def asearch_passages(self, search: PassageSearch) -> tuple[list[Any], int]:
        """``search_passages``, awaited."""
        return self.search_passages(search)

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
        self._begin()
        self._depth = 1
        try:
            yield
            self._before_commit()
            self.db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0

    def soon(self, sql: str, params: Any = (), /) -> None:
        """Inside a transaction: run a statement whose result nobody reads (a savepoint's).

        A backend may send it with the next statement, in one round trip; its error, if any,
        is raised there.
        """
        self.db.execute(sql, params)

    def _before_commit(self) -> None:
        """The transaction's last writes, right before it commits; nothing by default."""

    def _rollback(self) -> None:
        """End the open transaction, whatever state a failed write or commit left it in."""
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except self.errors:  # the database already rolled back (disk full, I/O error)
                pass

    def checkpoint(self) -> None:
        """Give storage back after a failure (SQLite's WAL); nothing to do by default."""

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Inside a transaction: many passages go in; indexes may be built once, at the end."""
        yield

    def search_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """One page of the agent's messages matching ``query``, best first, and the total.

        Full text over each message's ``search_text`` (tool plumbing has none), within
        ``start <= created_at < end`` (stored UTC ISO text) when given.
        """
        raise NotImplementedError

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
        return agent_row(row) if row else None

    def agents(self) -> list[AgentRow]:
        """Every agent, oldest first."""
        rows = self.db.execute("SELECT * FROM agents ORDER BY created_at").fetchall()
        return [agent_row(r) for r in rows]

    def delete_agent(self, agent_id: str) -> None:
        """Delete an agent, its messages, and blocks no other agent uses."""
        with self.transaction():
            self._before_commit()  # a backend's deferred writes go first (SQLite's index)
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
        row = self.db.execute(WRITE_BLOCK, write_params(block, version)).fetchone()
        return None if row is None else int(row[0])

    def block_version(self, block_id: str) -> int | None:
        """A block's version (cheaper than reading it), or ``None``."""
        row = self.db.execute("SELECT version FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return None if row is None else int(row[0])

    def block_versions(self, block_ids: list[str]) -> dict[str, int]:
        """``block_version`` of several blocks, by id (a deleted block is left out)."""
        found = {block_id: self.block_version(block_id) for block_id in block_ids}
        return {block_id: v for block_id, v in found.items() if v is not None}

    def versioned_block(self, block_id: str) -> tuple[Block, int] | None:
        """A block and its version, or ``None``."""
        row = self.db.execute("SELECT * FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return (block_row(row), int(row["version"])) if row else None

    def attach_blocks(self, agent_id: str, blocks: list[Block]) -> dict[str, int]:
        """Make ``blocks`` the agent's blocks, in order, saving the new ones; their versions."""
        self.db.execute("DELETE FROM agent_blocks WHERE agent_id = ?", (agent_id,))
        versions = {}
        for position, block in enumerate(blocks):
            stored = self.versioned_block(block.id)
            versions[block.id] = self.save_block(block) if stored is None else stored[1]
            self.db.execute(
                "INSERT INTO agent_blocks VALUES (?, ?, ?) ON CONFLICT (agent_id, block_id) "
                "DO UPDATE SET position = excluded.position",
                (agent_id, block.id, position),
            )
        return versions

    def block(self, block_id: str) -> Block | None:
        """The block with this id, or ``None``."""
        row = self.db.execute("SELECT * FROM blocks WHERE id = ?", (block_id,)).fetchone()
        return block_row(row) if row else None

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
        return [(block_row(r), int(r["version"])) for r in rows]

    def versions(self, agent_id: str) -> Versions | None:
        """What changed, cheaply: the agent's version, its blocks' versions, the tools' state.

        One indexed query; ``None`` if the agent is gone.
        """
        rows = self.db.execute(VERSIONS_QUERY, (agent_id,)).fetchall()
        if not rows or rows[0][0] != "a":
            return None
        head = rows[0]
        blocks = tuple((str(r[1]), int(r[2])) for r in rows[1:])
        return Versions(int(head[2]), int(head[3]), int(head[4]), blocks)

    def check_lease(self, agent_id: str, owner: str) -> int:
        """Inside a step's commit: does its turn still hold the agent's lease?

        Returns the newest in-context message's seq (``Versions.history``), read in the same
        query.

        Raises:
            NotFoundError: the agent was deleted.
            LeaseLost: ``owner`` no longer holds the lease (it stalled, and another turn took
                over): the caller's transaction must not commit.
        """
        held, mark = self.db.execute(CHECK_LEASE, (agent_id, owner)).fetchone()
        return self._held(agent_id, held, mark)

    def _held(self, agent_id: str, held: Any, mark: Any) -> int:
        """``check_lease``'s answer from its query's row."""
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
        """Merge keys into an agent's settings (JSON merge patch), a new agent version.

        False if there is no agent.
        """
        with self.transaction():
            row = self.db.execute("SELECT settings FROM agents WHERE id = ?", (agent_id,))
            found = row.fetchone()
            if found is None:
                return False
            merged = merge_patch(json.loads(found[0]), changes)
            self.db.execute(
                "UPDATE agents SET settings = ?, version = version + 1 WHERE id = ?",
                (json.dumps(merged), agent_id),
            )
            return True

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

    def add_agent_block(self, agent_id: str, block_id: str) -> None:
        """Attach a stored block after the agent's others (a new agent version)."""
        self.db.execute(
            "INSERT INTO agent_blocks SELECT ?1, ?2, COALESCE(MAX(position), -1) + 1 "
            "FROM agent_blocks WHERE agent_id = ?1 ON CONFLICT DO NOTHING",
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
            f"SELECT * FROM blocks WHERE ?1 IS NULL OR label = ?1 ORDER BY {self.block_order}",
            (label,),
        ).fetchall()
        return [block_row(r) for r in rows]

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
        return self._insert_messages(INSERT_MESSAGE, message_rows(agent_id, records))

    def save_step(
        self, agent_id: str, owner: str, records: list[Record], blocks: list[tuple[Block, int]]
    ) -> tuple[int, int | None, list[int | None]]:
        """Inside a step's commit: its writes, after checking that its turn holds the lease.

        ``check_lease``, then ``add_messages`` and ``write_block`` of each (block, version
        seen): their results, in that order. A backend may send them all at once (they are
        undone together if the lease was lost).

        Raises:
            NotFoundError: the agent was deleted.
            LeaseLost: ``owner`` no longer holds the lease.
        """
        before = self.check_lease(agent_id, owner)
        after = self.add_messages(agent_id, records)
        return before, after, [self.write_block(block, version) for block, version in blocks]

    def _insert_messages(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run the insert for every row; the last row's seq."""
        raise NotImplementedError

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
        query = f"SELECT * FROM messages WHERE {where} ORDER BY seq DESC"
        if limit is None:
            rows = self.db.execute(query, (agent_id,)).fetchall()
        else:
            rows = self.db.execute(query + " LIMIT ?", (agent_id, limit)).fetchall()
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
