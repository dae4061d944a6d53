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
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from pgvector import Vector
from pgvector.psycopg.vector import register_vector_info
from psycopg import pq
from psycopg.types import TypeInfo

from agent._errors import ConfigError
from agent._history import Record
from agent.store._base import Store, date_filter, record
from agent.store._passages import (
    LEXICAL_CANDIDATES,
    RRF_K,
    SEMANTIC_CANDIDATES,
    TagMatch,
    query_words,
    tag_filter,
)
from agent.store._postgres_schema import (
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    TEXT_CONFIG,
    hnsw_index,
)

__all__ = ["PostgresStore", "hidden_password", "ts_query"]

MIN_PGVECTOR = (0, 8)
"""The oldest pgvector with iterative index scans."""
_HARMLESS = ("SELECT", "BEGIN", "SHOW", "WITH fused")
"""How statements start that may run again on a new connection: reads, and a transaction's
beginning (the hybrid search starts with a read-only ``WITH``)."""
_PLACEHOLDER = re.compile(r"\?(\d*)")
# PostgreSQL's text cannot hold NUL: it is stored as U+FFFE, and the two noncharacters that
# stand in are escaped with U+FFFF, so any string reads back exactly as it was written
_TO_DB = {0: "\ufffe", 0xFFFE: "\uffff\ufffe", 0xFFFF: "\uffff\uffff"}
_NEEDS_ESCAPE = re.compile("[\x00\ufffe\uffff]")
_ESCAPED = re.compile("\uffff(.)|\ufffe", re.DOTALL)
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


def to_db(value: Any) -> Any:
    """A parameter as PostgreSQL takes it: a bool as 0 or 1, a string with NUL escaped."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and _NEEDS_ESCAPE.search(value):
        return value.translate(_TO_DB)
    return value


def from_db(value: Any) -> Any:
    """A column value as it was written (the inverse of ``to_db`` for strings)."""
    if isinstance(value, str) and ("\ufffe" in value or "\uffff" in value):
        return _ESCAPED.sub(lambda m: m.group(1) or "\x00", value)
    return value


def as_vector(vector: Sequence[float]) -> Vector:
    """A vector as pgvector's adapter sends it: float32, in binary."""
    return Vector(vector if isinstance(vector, list) else list(vector))


def unit(vector: Sequence[float]) -> list[float]:
    """``vector`` scaled to length 1, as SQLite stores it (a zero vector stays zero)."""
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class Row(tuple[Any, ...]):
    """A result row, read by position or by column name (like ``sqlite3.Row``)."""

    names: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self.names)


_ROW_KINDS: dict[tuple[str, ...], type[Row]] = {}


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    columns = tuple(c.name for c in cursor.description or ())
    kind = _ROW_KINDS.get(columns)
    if kind is None:  # one class per column list, made once: every query reuses it
        names = {name: i for i, name in enumerate(columns)}
        kind = _ROW_KINDS[columns] = type("Row", (Row,), {"names": names, "__slots__": ()})
    return lambda values: kind(map(from_db, values))


class PgConnection:
    """A psycopg connection that speaks the shared SQL: ``?`` and ``?1`` placeholders.

    A connection the server dropped (a restart, a failover) fails the statement that found
    out, then is replaced before the next statement that starts outside a transaction; inside
    one, the error ends the transaction as any failed write does.
    """

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], idle: Callable[[], bool]
    ) -> None:
        self._connect = connect
        self._idle = idle  # whether no transaction of the store is open
        self._raw = connect()
        self._sql: dict[str, tuple[str, list[int] | None]] = {}

    @property
    def raw(self) -> psycopg.Connection[Any]:
        """The psycopg connection (a new one if the last was lost outside a transaction)."""
        if self._raw.broken and self._idle():
            with contextlib.suppress(psycopg.Error):
                self._raw.close()
            self._raw = self._connect()
        return self._raw

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (or failed and not yet rolled back)."""
        return self._raw.info.transaction_status != pq.TransactionStatus.IDLE

    def _translate(self, sql: str) -> tuple[str, list[int] | None]:
        """Psycopg's form of ``sql``, and for numbered placeholders, the order of parameters."""
        found = self._sql.get(sql)
        if found is None:
            numbered: list[int] = []

            def mark(m: re.Match[str]) -> str:
                if m.group(1):
                    numbered.append(int(m.group(1)) - 1)
                return "%s"

            text = _PLACEHOLDER.sub(mark, sql.replace("%", "%%"))
            found = self._sql[sql] = (text, numbered or None)
        return found

    def _params(self, order: list[int] | None, params: Any) -> list[Any]:
        values = [to_db(v) for v in params]
        return values if order is None else [values[i] for i in order]

    def execute(self, sql: str, params: Any = (), /) -> Any:
        """Run one statement; its cursor.

        A read (or ``BEGIN``) outside a transaction that finds the connection dropped runs
        again on a new one: it changed nothing. Anything else raises, as any failure does.
        """
        text, order = self._translate(sql)
        values = self._params(order, params)
        try:
            return self.raw.execute(text, values)
        except psycopg.OperationalError:
            if not self._again(text):
                raise
            return self.raw.execute(text, values)

    def pipelined(self, statements: list[str], params: dict[int, Any]) -> list[Any]:
        """Run statements in one round trip (psycopg's pipeline mode); their cursors.

        ``params`` holds the parameters of the statements that have some, by position. Like
        ``execute``, statements that begin with a read or ``BEGIN`` run again on a new
        connection if they find this one dropped.
        """
        try:
            return self._pipeline(statements, params)
        except psycopg.OperationalError:
            if not self._again(statements[0]):
                raise
            return self._pipeline(statements, params)

    def _pipeline(self, statements: list[str], params: dict[int, Any]) -> list[Any]:
        raw, cursors = self.raw, []
        with raw.pipeline():
            for i, sql in enumerate(statements):
                text, order = self._translate(sql)
                cursors.append(raw.execute(text, self._params(order, params.get(i, ()))))
        return cursors

    def script(self, sql: str) -> None:
        """Run statements without parameters, in one round trip (no placeholders in them)."""
        try:
            self.raw.execute(sql)
        except psycopg.OperationalError:
            if not self._again(sql):
                raise
            self.raw.execute(sql)

    def _again(self, text: str) -> bool:
        """Whether a statement that failed may run again, on a new connection."""
        return self._raw.broken and self._idle() and text.lstrip().startswith(_HARMLESS)

    def executemany(self, sql: str, params: Iterable[Any], /) -> Any:
        """Run one statement once per parameter set."""
        text, order = self._translate(sql)
        cursor = self.raw.cursor()
        cursor.executemany(text, [self._params(order, p) for p in params])
        return cursor

    def close(self) -> None:
        """Close the connection."""
        self._raw.close()


class PostgresStore(Store):
    """One PostgreSQL database (its tables in the connection's current schema)."""

    db: PgConnection
    errors = (psycopg.Error,)
    block_order = "seq"
    vector_columns = ", embedding, dims"
    vector_marks = ", ?::vector, ?"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.path = hidden_password(url)
        try:
            self._vector_type = False  # known after the schema is open (it may create it)
            self.db = PgConnection(
                lambda: _connect(url, self._vector_type), lambda: self._depth == 0
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
            _register_vector(raw)
            self._vector_type = True  # reconnections register it at once
        except BaseException:
            raw.close()
            raise

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
        # one round trip: the transaction and the write lock every writer of this schema takes
        self.db.script(f"BEGIN; SELECT pg_advisory_xact_lock({self._lock_key})")

    # -- messages ------------------------------------------------------------------------

    def _insert_messages(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        head, values = sql.split(" VALUES ", 1)
        text = f"{head} VALUES {', '.join([values] * len(rows))} RETURNING seq"
        found = self.db.execute(text, [v for row in rows for v in row]).fetchall()
        return max(int(r[0]) for r in found)

    def search_messages(
        self, agent_id: str, query: str, start: str | None, end: str | None, page: int, size: int
    ) -> tuple[list[Record], int]:
        """One page of the agent's messages matching ``query``, best first; the total."""
        words = ts_query(query)
        if words is None:
            return [], 0
        where, params = date_filter(start, end)
        base = (
            f"FROM messages m, to_tsquery('{TEXT_CONFIG}', ?) q "
            f"WHERE m.agent_id = ? AND m.search_tsv @@ q{where}"
        )
        args = [words, agent_id, *params]
        rows = self.db.execute(
            f"SELECT m.*, COUNT(*) OVER () AS total {base} "
            "ORDER BY ts_rank_cd(m.search_tsv, q) DESC, m.seq DESC LIMIT ? OFFSET ?",
            [*args, size, page * size],
        ).fetchall()
        if rows:
            total = int(rows[0]["total"])
        else:
            total = int(self.db.execute(f"SELECT COUNT(*) {base}", args).fetchone()[0])
        return [record(r) for r in rows], total

    # -- passages ------------------------------------------------------------------------

    def _vector_values(self, vector: Sequence[float] | None) -> tuple[Any, ...]:
        if vector is None:
            return (None, None)
        if len(vector) not in self._hnsw | self._new_hnsw:
            if self._deferred is None:
                self.db.script(hnsw_index(len(vector)))
                self._new_hnsw.add(len(vector))
            else:
                self._deferred.add(len(vector))
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

    def search_passages(
        self,
        agent_id: str,
        query: str,
        vector: Sequence[float] | None,
        tags: list[str],
        match: TagMatch,
        page: int,
        size: int,
    ) -> tuple[list[Any], int]:
        """One page of matches, best first, and the total (see ``PassageRows``)."""
        words = ts_query(query) or ""
        where, tag_params = tag_filter(tags, match)
        lexical = (
            "SELECT p.seq, row_number() OVER (ORDER BY ts_rank_cd(p.text_tsv, q) DESC, p.seq) AS r"
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
                f"SELECT p.seq, p.embedding::vector({dims}) <=> ?::vector({dims}) AS d"
                f" FROM passages p WHERE p.agent_id = ? AND p.dims = {dims}{where}"
                f" ORDER BY d LIMIT {SEMANTIC_CANDIDATES}) s"
            )
            params += [as_vector(vector), agent_id, *tag_params]
        sql = (
            f"WITH fused AS (SELECT seq, SUM(1.0 / ({RRF_K} + r)) AS score FROM ({ranked}) u "
            "GROUP BY seq) SELECT (SELECT COUNT(*) FROM fused), "
            "ARRAY(SELECT seq FROM fused ORDER BY score DESC, seq LIMIT ? OFFSET ?)"
        )
        args = [*params, size, page * size]
        if vector is None or self.db.in_transaction:
            row = self.db.execute(sql, args).fetchone()
        else:
            # The planner prices an exact scan of a mid-size archive below the HNSW index (at
            # 20,000 1,536-d vectors: the scan 200 ms, the index 10 ms). Without sequential
            # scans it takes the index, or for a small archive the agent's index and a sort.
            row = self.db.pipelined(
                ["BEGIN", "SET LOCAL enable_seqscan = off", sql, "COMMIT"], {2: args}
            )[2].fetchone()  # one round trip; a read, so after a failure COMMIT rolls back
        return self.passages_by_seq([int(s) for s in row[1]]), int(row[0])


def _connect(url: str, vector_type: bool) -> psycopg.Connection[Any]:
    raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory)
    try:  # filtered nearest-neighbour scans go on until they have enough rows (pgvector 0.8)
        raw.execute("SET hnsw.iterative_scan = relaxed_order")
        if vector_type:
            _register_vector(raw)
    except BaseException:
        raw.close()
        raise
    return raw


def _register_vector(raw: psycopg.Connection[Any]) -> None:
    """Vectors in and out in pgvector's binary form (one catalog query)."""
    register_vector_info(raw, TypeInfo.fetch(raw, "vector"))


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
