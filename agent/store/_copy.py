"""``selfedit db copy SRC DST``: every agent, block, message, passage and tool, into another store.

For moving a SQLite database into PostgreSQL (or back). The copy is one transaction on the
target, which must be empty (vector indexes are built once, at its end); afterwards every
table's row count is compared and reported. Messages keep their order, passages their vectors
and tags, rows their versions. Leases are not copied (no turn is running in a copy).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from agent._errors import ConfigError
from agent.store._base import Store

__all__ = ["TABLES", "CopyReport", "copy_store"]

TABLES: dict[str, str] = {
    "agents": "id, name, system, model, embedding, max_steps, created_at, tools, settings, "
    "summary, summarized, summary_error, version",
    "blocks": 'id, label, value, "limit", description, read_only, version',
    "agent_blocks": "agent_id, block_id, position",
    "messages": "id, agent_id, role, content, tool_calls, tool_call_id, name, status, "
    "created_at, in_context, search_text",
    "tools": "id, name, source, schema, source_hash, created_at, version, reference, spec, "
    "override, sandbox",
    "mcp_servers": "name, config, tools, created_at, version",
}
"""The tables copied row by row, in an order that satisfies their references, with columns."""
BATCH = 1000


@dataclass(frozen=True)
class CopyReport:
    """Rows per table in the source and in the target after the copy."""

    counts: dict[str, tuple[int, int]]

    @property
    def ok(self) -> bool:
        """Whether every table has as many rows in the target as in the source."""
        return all(a == b for a, b in self.counts.values())

    def lines(self) -> list[str]:
        """One line per table: ``name  source -> target``, and a mark where they differ."""
        width = max(len(t) for t in self.counts)
        return [
            f"{table:<{width}}  {a:>8} -> {b}{'' if a == b else '  MISMATCH'}"
            for table, (a, b) in self.counts.items()
        ]


def _count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _rows(store: Store, table: str, columns: str) -> Iterator[tuple[object, ...]]:
    order = {"blocks": store.block_order, "messages": "seq"}.get(table)
    sql = f"SELECT {columns} FROM {table}" + (f" ORDER BY {order}" if order else "")
    for row in store.db.execute(sql).fetchall():
        yield tuple(row)


def copy_store(source: Store, target: Store) -> CopyReport:
    """Copy everything in ``source`` into the empty ``target``; the row counts of both.

    Raises:
        ConfigError: ``target`` already holds agents, blocks, tools or MCP servers (nothing
            was written).
    """
    held = [t for t in ("agents", "blocks", "tools", "mcp_servers") if _count(target, t)]
    if held:
        raise ConfigError(
            target.path,
            [f"is not empty (it holds {', '.join(held)}): copy into a new database"],
        )
    with target.transaction(), target.bulk_load():
        for table, columns in TABLES.items():
            marks = ", ".join("?" * (columns.count(",") + 1))
            rows = list(_rows(source, table, columns))
            for start in range(0, len(rows), BATCH):
                target.db.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                    rows[start : start + BATCH],
                )
        for row in source.db.execute(
            "SELECT agent_id, id, text, text_hash, tags, created_at, embedding FROM passages "
            "ORDER BY seq"
        ).fetchall():
            target.insert_passage(
                row[0], row[1], row[2], row[3], json.loads(row[4]), row[5],
                source.read_vector(row[6]),
            )  # fmt: skip
    tables = [*TABLES, "passages", "passage_tags"]
    return CopyReport({t: (_count(source, t), _count(target, t)) for t in tables})
