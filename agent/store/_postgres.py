"""PostgreSQL + pgvector, the backend for several processes or hosts on one database.

psycopg 3 (the ``postgres`` extra). The shared SQL of ``Store`` runs unchanged: the connection
adapter turns its ``?`` placeholders into psycopg's. A write transaction takes a transaction-level
advisory lock first, so writes serialize exactly as SQLite's ``BEGIN IMMEDIATE`` does, across
processes and hosts: leases, compare-and-set block writes and read-modify-write updates need
nothing else. Full text is PostgreSQL's (``tsvector`` + GIN); vectors are pgvector's with an HNSW
index, and a hybrid search fuses both by reciprocal rank inside one query.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from pgvector import Vector

from agent._errors import ConfigError, NotFoundError
from agent._history import Record
from agent._memory import Block
from agent._vectors import unit
from agent.store._base import Store
from agent.store._passages import (
    LEXICAL_CANDIDATES,
    PASSAGE_COLUMNS,
    RRF_K,
    SEMANTIC_CANDIDATES,
    PassageSearch,
    query_words,
    tag_filter,
)
from agent.store._pg_connection import PgConnection, connect, register_vector
from agent.store._pg_reads import AsyncReads, Query
from agent.store._postgres_schema import (
    HNSW_MAX_DIMS,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_CONFIG,
    distance,
    hnsw_index,
)
from agent.store._rows import Versions, date_filter, record
from agent.store._statements import (
    CHECK_LEASE,
    INSERT_MESSAGE,
    WRITE_BLOCK,
    message_rows,
    write_params,
)

__all__ = ["PostgresStore", "hidden_password", "ts_query"]

INSERT_ROWS = 5000
"""Messages per ``INSERT`` at most (10 parameters each: PostgreSQL takes 65,535 a statement)."""
MIN_PGVECTOR = (0, 8)
"""The oldest pgvector with iterative index scans."""
_QUERY_PASSWORD = re.compile(r"(?<=[?&]password=)[^&#]*")


def hidden_password(url: str) -> str:
    """``url`` with its password (``user:password@`` or ``?password=``) replaced by ``***``.

    For messages and ``Store.path``.
    """
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    return _QUERY_PASSWORD.sub("***", url)


def _without_passwords(text: str, url: str) -> str:
    """``text`` with every password of ``url``, as written or decoded, replaced by ``***``.

    libpq's messages about a malformed URL quote the part they could not read.
    """
    written = [urlsplit(url).password or "", *_QUERY_PASSWORD.findall(url)]
    for secret in sorted({f for p in written if p for f in (p, unquote(p))}, key=len)[::-1]:
        text = text.replace(secret, "***")
    return text


def ts_query(text: str) -> str | None:
    """A safe ``to_tsquery`` text from free text: each word quoted, any word may match."""
    return " | ".join(f"'{w}'" for w in query_words(text)) or None


def as_vector(vector: Sequence[float]) -> Vector:
    """A vector as pgvector's adapter sends it: float32, in binary."""
    if isinstance(vector, list) or getattr(vector, "ndim", None) == 1:
        return Vector(vector)  # type: ignore[arg-type]  # a list, or a numpy row read at once
    return Vector(list(vector))


class PostgresStore(Store):
    """One PostgreSQL database (its tables in the connection's current schema)."""

    db: PgConnection
    errors = (psycopg.Error,)
    block_order = "seq"
    remote = True
    vector_columns = ", embedding, dims"
    vector_marks = ", ?::vector, ?"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.path = hidden_password(url)
        try:
            self._vector_type = False  # known after the schema is open (it may create it)
            self.db = PgConnection(
                lambda: connect(url, self._vector_type), lambda: self._depth == 0
            )
        except psycopg.Error as e:
            reason = _without_passwords(_first_line(e), url)
            raise ConfigError(self.path, [f"cannot be reached: {reason}"]) from None
        raw = self.db.raw
        self._hnsw: set[int] = set()
        self._deferred: set[int] | None = None  # dimensions whose index bulk_load builds
        # made since the last transaction began: it may have rolled back (or to a savepoint)
        self._new_hnsw: set[int] = set()
        try:
            schema = self.db.execute("SELECT current_schema()").fetchone()[0]
            if schema is None:  # else CREATE TABLE fails with "no schema has been selected"
                path = self.db.execute("SHOW search_path").fetchone()[0]
                raise ConfigError(
                    self.path, [f"names no schema that exists (search_path: {path}); create it"]
                )
            self._lock_key = zlib.crc32(f"selfedit:{schema}".encode())
            self._open(str(schema))
            register_vector(raw)
            self._vector_type = True  # reconnections register it at once
        except BaseException:
            raw.close()
            raise
        self._reads = AsyncReads(url)

    def close(self) -> None:
        """Close the connection, and the async ones (those in use as their reads end)."""
        self._reads.close()
        super().close()

    def _open(self, schema: str) -> None:
        """Check what is there, then create or migrate the tables (refusing before any write)."""
        tables = {r[0] for r in self.db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (schema,)
        )}  # fmt: skip
        if tables and "schema_version" not in tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise ConfigError(
                self.path,
                [f"schema {schema!r} is not selfedit's (it holds other tables: {shown}); "
                 "use another database or schema"],
            )  # fmt: skip
        version = SCHEMA_VERSION
        if tables:
            row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = SCHEMA_VERSION if row[0] is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise ConfigError(
                self.path,
                [f"has schema version {version}, newer than this selfedit's ({SCHEMA_VERSION}): "
                 "upgrade selfedit to open it"],
            )  # fmt: skip
        if version == SCHEMA_VERSION and "passages" in tables:
            self._check_vector()
            self._hnsw = self._indexed_dims()
            return
        with self.transaction():  # the lock: two first clients create the tables in turn
            self._ensure_vector()
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, ()):
                    self.db.script(statement)
            self.db.script(";\n".join(SCHEMA))  # one round trip for the whole schema
            self.db.execute("DELETE FROM schema_version")
            self.db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        self._hnsw = self._indexed_dims()

    def _check_vector(self) -> bool:
        """Whether pgvector is installed; refuse one older than 0.8.

        Filtered nearest-neighbour search needs 0.8's iterative index scans: an older HNSW
        scan stops early and a search filtered by agent or tag would miss passages.
        """
        row = self.db.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        found = row.fetchone()
        if found is None:
            return False
        parts = tuple(int(x) for x in re.findall(r"\d+", str(found[0]))[:2])
        if parts < MIN_PGVECTOR:
            raise ConfigError(
                self.path,
                [f"has pgvector {found[0]}; selfedit needs 0.8 or newer (filtered HNSW search): "
                 "install it, then run ALTER EXTENSION vector UPDATE"],
            )  # fmt: skip
        return True

    def _ensure_vector(self) -> None:
        """The pgvector extension, created if this database lacks it (it needs the right)."""
        if self._check_vector():
            return
        try:
            self.db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as e:
            raise ConfigError(
                self.path,
                [f"needs the pgvector extension: {_first_line(e)} (ask an administrator to run "
                 "CREATE EXTENSION vector in this database)"],
            ) from None  # fmt: skip

    def _indexed_dims(self) -> set[int]:
        rows = self.db.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'passages_hnsw_%'"
        ).fetchall()
        return {int(str(r[0]).rsplit("_", 1)[1]) for r in rows}

    def _begin(self) -> None:
        if self._new_hnsw:  # which of the indexes made since the last begin were kept
            self._hnsw, self._new_hnsw = self._indexed_dims(), set()
        # the transaction and the write lock every writer of this schema takes, sent with the
        # transaction's first statement
        self.db.queue("BEGIN")
        self.db.queue(f"SELECT pg_advisory_xact_lock({self._lock_key})")

    def soon(self, sql: str, params: Any = (), /) -> None:
        if self._depth:  # else nothing may come after it to carry it
            self.db.queue(sql, params)
        else:
            self.db.execute(sql, params)

    # -- messages ------------------------------------------------------------------------

    def _insert_messages(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        last = 0
        for start in range(0, len(rows), INSERT_ROWS):
            found = self.db.execute(*_returning_seq(sql, rows[start : start + INSERT_ROWS]))
            last = max(last, *(int(r[0]) for r in found.fetchall()))
        return last

    def save_step(
        self, agent_id: str, owner: str, records: list[Record], blocks: list[tuple[Block, int]]
    ) -> tuple[int, int | None, list[int | None]]:
        """``Store.save_step`` in one round trip: its statements, pipelined.

        If the lease was lost, the caller's rollback undoes the writes sent with the check.
        """
        if len(records) > INSERT_ROWS:  # more than one insert can carry: one at a time
            return super().save_step(agent_id, owner, records, blocks)
        statements = [CHECK_LEASE]
        params: dict[int, Sequence[Any]] = {0: (agent_id, owner)}
        if records:
            sql, values = _returning_seq(INSERT_MESSAGE, message_rows(agent_id, records))
            params[len(statements)] = values
            statements.append(sql)
        for block, version in blocks:
            params[len(statements)] = write_params(block, version)
            statements.append(WRITE_BLOCK)
        try:
            cursors = self.db.pipelined(statements, params)
        except psycopg.errors.ForeignKeyViolation:  # the messages' agent is gone
            raise NotFoundError(f"agent {agent_id!r} was deleted") from None
        before = self._held(agent_id, *cursors[0].fetchone())
        after = max(int(r[0]) for r in cursors[1].fetchall()) if records else None
        written = [c.fetchone() for c in cursors[1 + bool(records) :]]
        return before, after, [None if row is None else int(row[0]) for row in written]

    def search_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """One page of the agent's messages matching ``query``, best first; the total."""
        found = _message_search(agent_id, query, start, end, page, size)
        if found is None:
            return [], 0
        (sql, args), count = found
        rows = self.db.execute(sql, args).fetchall()
        total = int(rows[0]["total"]) if rows else int(self.db.execute(*count).fetchone()[0])
        return [record(r) for r in rows], total

    async def asearch_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """``search_messages`` on an async connection (the loop goes on meanwhile)."""
        found = _message_search(agent_id, query, start, end, page, size)
        if found is None or self._depth:  # in a transaction: it must see the transaction's writes
            return self.search_messages(agent_id, query, start, end, page, size)
        search, count = found
        rows = (await self._reads.fetch([search]))[0]
        total = int(rows[0]["total"]) if rows else int((await self._reads.fetch([count]))[0][0][0])
        return [record(r) for r in rows], total

    # -- passages ------------------------------------------------------------------------

    def _vector_values(self, vector: Sequence[float] | None) -> tuple[Any, ...]:
        if vector is None:
            return (None, None)
        dims = len(vector)
        if dims <= HNSW_MAX_DIMS and dims not in self._hnsw | self._new_hnsw:
            if self._deferred is None:
                self.db.script(hnsw_index(dims))
                self._new_hnsw.add(dims)
            else:
                self._deferred.add(dims)
        return (as_vector(unit(vector)), len(vector))

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Inside a transaction: new HNSW indexes are built once, over every row, at the end.

        Building an index over 100,000 1,536-d vectors at once is more than ten times faster
        than inserting them one at a time into it.
        """
        self._deferred = set()
        try:
            yield
            for dims in sorted(self._deferred - self._hnsw - self._new_hnsw):
                self.db.script(hnsw_index(dims))
                self._new_hnsw.add(dims)
        finally:
            self._deferred = None

    def read_vector(self, stored: Any) -> list[float] | None:
        """A stored vector (pgvector's adapter reads it as a ``Vector``) as a list."""
        return None if stored is None else [float(x) for x in stored.to_list()]

    def search_passages(self, search: PassageSearch) -> tuple[list[Any], int]:
        """One page of matches, best first, and the total (see ``PassageRows``)."""
        sql, args = _passage_search(search)
        if search.vector is None or self.db.in_transaction:
            rows = self.db.execute(sql, args).fetchall()
        else:  # one round trip; a read, so after a failure COMMIT rolls back
            statements = ["BEGIN", *_HINTS, sql, "COMMIT"]
            at = len(statements) - 2
            rows = self.db.pipelined(statements, {at: args})[at].fetchall()
        return _page(rows)

    async def asearch_passages(self, search: PassageSearch) -> tuple[list[Any], int]:
        """``search_passages`` on an async connection (the loop goes on meanwhile)."""
        if self._depth:  # in a transaction: it must see the transaction's writes
            return self.search_passages(search)
        hints = () if search.vector is None else _HINTS
        rows = (await self._reads.fetch([_passage_search(search)], hints))[0]
        return _page(rows)

    # -- reads of many at once -------------------------------------------------------------

    async def aversions_of(self, agent_ids: list[str]) -> dict[str, Versions]:
        """``versions`` of several agents in one query, on an async connection."""
        if self._depth:
            return await super().aversions_of(agent_ids)
        rows = (await self._reads.fetch([(VERSIONS_OF, (agent_ids,))]))[0]
        found: dict[str, Versions] = {}
        for agent_id, group in itertools.groupby(rows, key=lambda r: str(r[0])):
            head, *blocks = group
            if head[1] == "a":  # else the agent was deleted between the two halves
                found[agent_id] = Versions(
                    int(head[3]), int(head[4]), int(head[5]),
                    tuple((str(r[2]), int(r[3])) for r in blocks),
                )  # fmt: skip
        return found

    async def ablock_versions(self, block_ids: list[str]) -> dict[str, int]:
        """``block_version`` of several blocks in one query, on an async connection."""
        if self._depth:
            return await super().ablock_versions(block_ids)
        sql = "SELECT id, version FROM blocks WHERE id = ANY(?)"
        rows = (await self._reads.fetch([(sql, (block_ids,))]))[0]
        return {str(r[0]): int(r[1]) for r in rows}


_HINTS = ("SET LOCAL enable_seqscan = off",)
"""The planner prices an exact scan of a mid-size archive below the HNSW index (at 20,000
1,536-d vectors: the scan 200 ms, the index 10 ms). Without sequential scans it takes the
index, or for a small archive the agent's index and a sort."""

VERSIONS_OF = """
SELECT a.id, 'a', '', a.version,
    (SELECT COALESCE(MAX(m.seq), 0) FROM messages m WHERE m.agent_id = a.id AND m.in_context = 1),
    (SELECT version FROM tools_state)
FROM agents a WHERE a.id = ANY(?1)
UNION ALL
SELECT ab.agent_id, 'b', b.id, b.version, ab.position, 0
FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id WHERE ab.agent_id = ANY(?1)
ORDER BY 1, 2, 5
"""
"""``Store.versions`` of many agents: each agent's row, then its blocks in order."""


def _message_search(
    agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
) -> tuple[Query, Query] | None:
    """The search of ``search_messages`` and the count for an empty page; ``None``: no words."""
    words = ts_query(query)
    if words is None:
        return None
    where, params = date_filter(start, end)
    base = (
        f"FROM messages m, to_tsquery('{TEXT_CONFIG}', ?) q "
        f"WHERE m.agent_id = ? AND m.search_tsv @@ q{where}"
    )
    args = [words, agent_id, *params]
    search = (
        f"SELECT m.*, COUNT(*) OVER () AS total {base} "
        "ORDER BY ts_rank(m.search_tsv, q) DESC, m.seq DESC LIMIT ? OFFSET ?"
    )
    return (search, [*args, size, page * size]), (f"SELECT COUNT(*) {base}", args)


def _passage_search(search: PassageSearch) -> Query:
    """The one query of ``search_passages``: full text, or hybrid fused by RRF, paged."""
    words = ts_query(search.query) or ""
    where, tag_params = tag_filter(search.tags, search.match)
    agent_id, vector = search.agent_id, search.vector
    lexical = (
        "SELECT p.seq, row_number() OVER (ORDER BY ts_rank(p.text_tsv, q) DESC, p.seq) AS r"
        f" FROM passages p, to_tsquery('{TEXT_CONFIG}', ?) q"
        f" WHERE p.agent_id = ? AND p.text_tsv @@ q{where}"
    )
    params: list[Any] = [words, agent_id, *tag_params]
    if vector is None:
        ranked = lexical
    else:
        dims = len(vector)
        ranked = (
            f"(SELECT * FROM ({lexical}) l ORDER BY r LIMIT {LEXICAL_CANDIDATES}) UNION ALL "
            "SELECT seq, row_number() OVER (ORDER BY d, seq) FROM ("
            f"SELECT p.seq, {distance(dims)} AS d"
            f" FROM passages p WHERE p.agent_id = ? AND p.dims = {dims}{where}"
            f" ORDER BY d LIMIT {SEMANTIC_CANDIDATES}) s"
        )
        params += [as_vector(vector), agent_id, *tag_params]
    # the page's passages come back with the total (one row of NULLs and the total when the
    # page is empty): no second round trip to read them
    sql = (
        f"WITH fused AS (SELECT seq, SUM(1.0 / ({RRF_K} + r)) AS score FROM ({ranked}) u "
        "GROUP BY seq), hits AS (SELECT seq AS hit, score FROM fused "
        "ORDER BY score DESC, seq LIMIT ? OFFSET ?) "
        f"SELECT n.total, {PASSAGE_COLUMNS} FROM (SELECT COUNT(*) AS total FROM fused) n "
        "LEFT JOIN (hits JOIN passages ON seq = hit) ON true ORDER BY score DESC, hit"
    )
    return sql, [*params, search.size, search.page * search.size]


def _page(rows: list[Any]) -> tuple[list[Any], int]:
    """The passages of a page the search query read, and the total it came with."""
    return [r for r in rows if r["seq"] is not None], int(rows[0]["total"])


def _returning_seq(sql: str, rows: list[tuple[Any, ...]]) -> Query:
    """An ``INSERT ... VALUES`` of every row in one statement, returning their seqs."""
    head, values = sql.split(" VALUES ", 1)
    text = f"{head} VALUES {', '.join([values] * len(rows))} RETURNING seq"
    return text, [v for row in rows for v in row]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
