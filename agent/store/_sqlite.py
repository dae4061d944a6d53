"""SQLite, the default backend: one file (or ``:memory:``), FTS5 for full text.

The standard library's ``sqlite3`` in WAL mode. ``BEGIN IMMEDIATE`` makes each write
transaction the only writer, across processes. Vectors are float32 blobs, searched by an
in-process index per agent (``agent._vectors``) that catches up with other clients' writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agent._errors import ConfigError
from agent._history import Record
from agent._vectors import VectorIndex, from_blob, to_blob
from agent.store._base import Store
from agent.store._passages import (
    LEXICAL_CANDIDATES,
    RRF_K,
    SEMANTIC_CANDIDATES,
    PassageSearch,
    TagMatch,
    query_words,
    tag_filter,
)
from agent.store._rows import create_private, date_filter, record
from agent.store._sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

__all__ = ["SQLiteStore", "fts_query"]

WAL_SIZE_LIMIT = 4 * 1024 * 1024
"""Bytes the write-ahead log is truncated to after a checkpoint (it never stays at its peak)."""


def fts_query(text: str) -> str | None:
    """A safe FTS5 query from free text: each word quoted, any word may match (BM25 ranks)."""
    return " OR ".join(f'"{w}"' for w in query_words(text)) or None


class SQLiteStore(Store):
    """One SQLite database."""

    errors = (sqlite3.Error,)

    def __init__(self, path: str | Path = ":memory:") -> None:
        super().__init__()
        self.path = str(path)
        if self.path != ":memory:":
            create_private(Path(self.path))
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self._refuse_foreign()  # before anything is written, even the journal mode
        self._refuse_newer()
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
        self._indexes: dict[str, tuple[VectorIndex, tuple[int, int]]] = {}
        # the first message this transaction inserted: full text indexes it, and every later
        # one, in one statement before the commit (rows rolled back to a savepoint are gone)
        self._unindexed: int | None = None
        try:
            self._migrate()
        except BaseException:
            self.db.close()
            raise

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

    def _refuse_newer(self) -> None:
        """Refuse a database of a newer selfedit before anything is written (WAL mode too)."""
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if found is None:  # a new database
            return
        version = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if version is not None and int(version) > SCHEMA_VERSION:
            self.db.close()
            raise self._newer(int(version))

    def _newer(self, version: int) -> ConfigError:
        return ConfigError(
            self.path,
            [f"has schema version {version}, newer than this selfedit's ({SCHEMA_VERSION}): "
             "upgrade selfedit to open it"],
        )  # fmt: skip

    def _migrate(self) -> None:
        with self.transaction():
            found = self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            query = "SELECT version FROM schema_version"
            row = self.db.execute(query).fetchone() if found else None
            version = SCHEMA_VERSION if row is None else int(row[0])
            if version > SCHEMA_VERSION:  # upgraded by another process since the check
                raise self._newer(version)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    self.db.execute(statement)
            for statement in SCHEMA:
                self.db.execute(statement)
            self.db.execute("DELETE FROM schema_version")
            self.db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))

    def _begin(self) -> None:
        self._unindexed = None
        self.db.execute("BEGIN IMMEDIATE")

    def _before_commit(self) -> None:
        """Index the messages this transaction inserted for full-text search.

        One statement per transaction: FTS5 flushes what it holds at every statement
        boundary inside a savepoint or trigger, so indexing row by row (an insert trigger)
        cost four to six times a step's insert.
        """
        if self._unindexed is not None:
            self.db.execute(
                "INSERT INTO messages_fts(rowid, search_text) SELECT seq, search_text "
                "FROM messages WHERE seq >= ? AND search_text != ''",
                (self._unindexed,),
            )
            self._unindexed = None

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Inside a transaction: rows written straight into ``messages`` are indexed after."""
        yield
        self.db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')")
        self.db.execute(
            "INSERT INTO messages_fts(rowid, search_text) SELECT seq, search_text "
            "FROM messages WHERE search_text != ''"
        )

    def close(self) -> None:
        """Close the connection (checkpointing the WAL first)."""
        self.checkpoint()
        self.db.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (after a storage failure, on close)."""
        with contextlib.suppress(sqlite3.Error):  # busy readers, a closed database: not now
            if self.path != ":memory:" and not self.db.in_transaction:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- messages ------------------------------------------------------------------------

    def _insert_messages(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        if not self._depth:  # alone: its transaction indexes it
            with self.transaction():
                return self._insert_messages(sql, rows)
        self.db.executemany(sql, rows)
        last = int(self.db.execute("SELECT last_insert_rowid()").fetchone()[0])
        if self._unindexed is None:  # the only writer: the rows took consecutive seqs
            self._unindexed = last - len(rows) + 1
        return last

    def search_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """One page of the agent's messages matching ``query`` (BM25), best first; the total."""
        fts = fts_query(query)
        if fts is None:
            return [], 0
        if self._depth:  # inside a transaction: what it inserted is found too
            self._before_commit()
        where, params = date_filter(start, end)
        base = (
            # CROSS JOIN keeps the index search outermost: match first, then filter
            "FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid "
            f"WHERE messages_fts MATCH ? AND m.agent_id = ?{where}"
        )
        args = [fts, agent_id, *params]
        total = int(self.db.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0])
        rows = self.db.execute(
            f"SELECT m.* {base} ORDER BY bm25(messages_fts), m.seq DESC LIMIT ? OFFSET ?",
            [*args, size, page * size],
        ).fetchall()
        return [record(r) for r in rows], total

    # -- passages ------------------------------------------------------------------------

    def _vector_values(self, vector: Sequence[float] | None) -> tuple[Any, ...]:
        return (None if vector is None else to_blob(vector),)

    def read_vector(self, stored: Any) -> list[float] | None:
        """A float32 blob back as a list."""
        return None if stored is None else list(from_blob(stored))

    def delete_passage(self, agent_id: str, passage_id: str) -> int | None:
        """Delete one of the agent's passages; its seq, or ``None`` if there is none."""
        seq = super().delete_passage(agent_id, passage_id)
        cached = self._indexes.get(agent_id)
        if seq is not None and cached is not None and seq in cached[0]:
            index, (last, count) = cached
            index.remove(seq)
            self._indexes[agent_id] = (index, (last, count - 1))
        return seq

    def search_passages(self, search: PassageSearch) -> tuple[list[Any], int]:
        """One page of matches, best first, and the total (see ``PassageRows``)."""
        agent_id, query, vector = search.agent_id, search.query, search.vector
        tags, match, page, size = search.tags, search.match, search.page, search.size
        if vector is None:
            seqs = self._bm25(agent_id, query, tags, match, size, page * size)
            return self.passages_by_seq(seqs), self._bm25_count(agent_id, query, tags, match)
        lexical = self._bm25(agent_id, query, tags, match, LEXICAL_CANDIDATES, 0)
        allowed = self._tagged(agent_id, tags, match) if tags else None
        semantic = self._vectors(agent_id).top(list(vector), SEMANTIC_CANDIDATES, allowed)
        fused: dict[int, float] = {}
        for ranking in (lexical, semantic):
            for rank, seq in enumerate(ranking):
                fused[seq] = fused.get(seq, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda seq: -fused[seq])
        return self.passages_by_seq(order[page * size : (page + 1) * size]), len(order)

    def _bm25(
        self, agent_id: str, query: str, tags: list[str], match: TagMatch, limit: int, offset: int
    ) -> list[int]:
        fts = fts_query(query)
        if fts is None:
            return []
        where, params = tag_filter(tags, match)
        rows = self.db.execute(
            # CROSS JOIN keeps the index search outermost: match first, then filter
            "SELECT p.seq FROM passages_fts CROSS JOIN passages p ON p.seq = passages_fts.rowid "
            f"WHERE passages_fts MATCH ? AND p.agent_id = ?{where} "
            "ORDER BY bm25(passages_fts), p.seq LIMIT ? OFFSET ?",
            [fts, agent_id, *params, limit, offset],
        ).fetchall()
        return [r[0] for r in rows]

    def _bm25_count(self, agent_id: str, query: str, tags: list[str], match: TagMatch) -> int:
        fts = fts_query(query)
        if fts is None:
            return 0
        where, params = tag_filter(tags, match)
        return int(self.db.execute(
            "SELECT COUNT(*) FROM passages_fts CROSS JOIN passages p "
            f"ON p.seq = passages_fts.rowid WHERE passages_fts MATCH ? AND p.agent_id = ?{where}",
            [fts, agent_id, *params],
        ).fetchone()[0])  # fmt: skip

    def _tagged(self, agent_id: str, tags: list[str], match: TagMatch) -> set[int]:
        where, params = tag_filter(tags, match)
        rows = self.db.execute(
            f"SELECT p.seq FROM passages p WHERE p.agent_id = ?{where}", [agent_id, *params]
        ).fetchall()
        return {r[0] for r in rows}

    def _vectors(self, agent_id: str) -> VectorIndex:
        """The agent's vector index, brought up to date with other clients' writes."""
        state = tuple(self.db.execute(
            "SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM passages "
            "WHERE agent_id = ? AND embedding IS NOT NULL",
            (agent_id,),
        ).fetchone())  # fmt: skip
        cached = self._indexes.get(agent_id)
        if cached is not None and cached[1] == state:
            return cached[0]
        last, count = cached[1] if cached is not None else (0, 0)
        rows = self.db.execute(
            "SELECT seq, embedding FROM passages WHERE agent_id = ? AND embedding IS NOT NULL "
            "AND seq > ? ORDER BY seq",
            (agent_id, last),
        ).fetchall()
        if cached is not None and count + len(rows) == state[1]:
            index = cached[0]
            for seq, blob in rows:  # only appended since: add them
                index.add(seq, blob)
        elif cached is not None:  # something was deleted elsewhere: start over
            del self._indexes[agent_id]
            return self._vectors(agent_id)
        else:
            index = VectorIndex((r[0], r[1]) for r in rows)
        self._indexes[agent_id] = (index, (int(state[0]), int(state[1])))
        return index
