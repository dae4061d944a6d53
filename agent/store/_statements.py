"""What the shared SQL runs on (``Connection``), and the statements of a step.

``VERSIONS_QUERY`` is what a step reads first (what changed since it last looked); the others
are what its commit writes: the lease check, its messages, a block's compare-and-set. SQLite
runs them one by one; PostgreSQL sends a commit's in one pipeline (``Store.save_step``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from agent._history import Record
from agent._memory import Block

__all__ = [
    "CHECK_LEASE",
    "INSERT_MESSAGE",
    "VERSIONS_QUERY",
    "WRITE_BLOCK",
    "Connection",
    "message_rows",
    "write_params",
]

VERSIONS_QUERY = """
SELECT 'a', '', version,
    (SELECT COALESCE(MAX(seq), 0) FROM messages WHERE agent_id = ?1 AND in_context = 1),
    (SELECT version FROM tools_state)
FROM agents WHERE id = ?1
UNION ALL
SELECT 'b', b.id, b.version, a.position, 0
FROM agent_blocks a JOIN blocks b ON b.id = a.block_id WHERE a.agent_id = ?1
ORDER BY 1, 4
"""


INSERT_MESSAGE = (
    "INSERT INTO messages (id, agent_id, role, content, tool_calls, tool_call_id, name, status,"
    " created_at, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
WRITE_BLOCK = (
    'UPDATE blocks SET label = ?, value = ?, "limit" = ?, description = ?, read_only = ?, '
    "version = version + 1 WHERE id = ? AND version = ? RETURNING version"
)
"""``write_block``'s compare-and-set (its parameters: ``write_params``)."""
CHECK_LEASE = (
    "SELECT EXISTS (SELECT 1 FROM leases WHERE agent_id = ?1 AND owner = ?2), "
    "(SELECT COALESCE(MAX(seq), 0) FROM messages WHERE agent_id = ?1 AND in_context = 1)"
)


def message_rows(agent_id: str, records: list[Record]) -> list[tuple[Any, ...]]:
    """``INSERT_MESSAGE``'s parameters for each record."""
    return [
        (
            r.id, agent_id, r.role, r.content,
            json.dumps([c.model_dump() for c in r.tool_calls]) if r.tool_calls else None,
            r.tool_call_id, r.name, r.status, r.created_at.isoformat(), r.search_text,
        )
        for r in records
    ]  # fmt: skip


def write_params(block: Block, version: int) -> tuple[Any, ...]:
    """``WRITE_BLOCK``'s parameters."""
    return (
        block.label, block.value, block.limit, block.description, block.read_only,
        block.id, version,
    )  # fmt: skip


class Connection(Protocol):
    """What the stores need of a DB-API connection (``sqlite3``'s, or the PostgreSQL adapter)."""

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open."""

    def execute(self, sql: str, params: Any = ..., /) -> Any:
        """Run one statement (``?`` placeholders); a cursor."""

    def executemany(self, sql: str, params: Iterable[Any], /) -> Any:
        """Run one statement once per parameter set."""

    def close(self) -> None:
        """Close the connection."""
