"""The PostgreSQL connection the stores' shared SQL runs on (see ``agent.store._postgres``).

``PgConnection`` takes ``?`` and ``?1`` placeholders, stores what PostgreSQL's text cannot hold
(NUL), reads rows by position or by name (like ``sqlite3.Row``), and replaces a connection the
server dropped. Vectors travel in pgvector's binary form.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import psycopg
from pgvector.psycopg.vector import register_vector_info
from psycopg import pq
from psycopg.types import TypeInfo

from agent.store._passages import SEMANTIC_CANDIDATES

__all__ = [
    "SESSION",
    "PgConnection",
    "Row",
    "bind",
    "connect",
    "from_db",
    "register_vector",
    "row_factory",
    "to_db",
    "translate",
]

_HARMLESS = ("SELECT", "BEGIN", "SHOW", "WITH fused")
"""How statements start that may run again on a new connection: reads, and a transaction's
beginning (the hybrid search starts with a read-only ``WITH``)."""
_NOTHING = ("BEGIN", "SELECT pg_advisory_xact_lock(", "SAVEPOINT ", "RELEASE ", "ROLLBACK TO ")
"""How queued statements start that change nothing a transaction keeps."""
_PLACEHOLDER = re.compile(r"\?(\d*)")
# PostgreSQL's text cannot hold NUL: it is stored as U+FFFE, and the two noncharacters that
# stand in are escaped with U+FFFF, so any string reads back exactly as it was written
_TO_DB = {0: "\ufffe", 0xFFFE: "\uffff\ufffe", 0xFFFF: "\uffff\uffff"}
_NEEDS_ESCAPE = re.compile("[\x00\ufffe\uffff]")
_ESCAPED = re.compile("\uffff(.)|\ufffe", re.DOTALL)


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


def row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    columns = tuple(c.name for c in cursor.description or ())
    kind = _ROW_KINDS.get(columns)
    if kind is None:  # one class per column list, made once: every query reuses it
        names = {name: i for i, name in enumerate(columns)}
        kind = _ROW_KINDS[columns] = type("Row", (Row,), {"names": names, "__slots__": ()})
    return lambda values: kind(map(from_db, values))


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, list[int] | None]:
    """Psycopg's form of ``sql``, and for numbered placeholders, the order of parameters."""
    numbered: list[int] = []

    def mark(m: re.Match[str]) -> str:
        if m.group(1):
            numbered.append(int(m.group(1)) - 1)
        return "%s"

    return _PLACEHOLDER.sub(mark, sql.replace("%", "%%")), numbered or None


def bind(order: list[int] | None, params: Any) -> list[Any]:
    """The parameters psycopg takes for a statement ``translate`` gave ``order`` for."""
    values = [to_db(v) for v in params]
    return values if order is None else [values[i] for i in order]


class PgConnection:
    """A psycopg connection that speaks the shared SQL: ``?`` and ``?1`` placeholders.

    A connection the server dropped (a restart, a failover) fails the statement that found
    out, then is replaced before the next statement that starts outside a transaction; inside
    one, the error ends the transaction as any failed write does.

    Statements whose results nobody reads (``BEGIN``, savepoints) can wait (``queue``) and go
    with the next statement, in one round trip: a step of a group commit costs two round trips
    fewer, and a transaction that wrote nothing costs none.
    """

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], idle: Callable[[], bool]
    ) -> None:
        self._connect = connect
        self._idle = idle  # whether no transaction of the store is open
        self._raw = connect()
        self._queued: list[tuple[str, Any]] = []

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
        """Whether a transaction is open (or failed and not yet rolled back, or queued)."""
        return bool(self._queued) or self._raw.info.transaction_status != pq.TransactionStatus.IDLE

    def queue(self, sql: str, params: Any = (), /) -> None:
        """Send ``sql`` (its result unread) with the next statement, in one round trip.

        Its error, if any, is raised by that statement. ``COMMIT`` or ``ROLLBACK`` of a
        transaction of which nothing but its ``BEGIN``, lock and savepoints was queued sends
        nothing: nothing happened in it.
        """
        self._queued.append((sql, params))

    def execute(self, sql: str, params: Any = (), /) -> Any:
        """Run one statement; its cursor.

        A read (or ``BEGIN``) outside a transaction that finds the connection dropped runs
        again on a new one: it changed nothing. Anything else raises, as any failure does.
        """
        if self._queued:
            return self._with_queued(sql, params)
        text, order = translate(sql)
        values = bind(order, params)
        try:
            return self.raw.execute(text, values)
        except psycopg.OperationalError:
            if not self._again(text):
                raise
            return self.raw.execute(text, values)

    def _with_queued(self, sql: str, params: Any) -> Any:
        """``execute`` with the queued statements before it, in one round trip."""
        queued, self._queued = self._queued, []
        unsent = queued[0][0] == "BEGIN"  # the transaction has not reached the server
        if sql == "ROLLBACK":  # what was queued is undone anyway
            return None if unsent else self.raw.execute(sql)
        if sql == "COMMIT" and unsent and all(q.startswith(_NOTHING) for q, _ in queued):
            return None  # nothing happened in it
        return self._pipeline([*queued, (sql, params)])[-1]

    def _send_queued(self) -> None:
        """Send what is queued, now (before a statement that cannot join a pipeline)."""
        queued, self._queued = self._queued, []
        if queued:
            self._pipeline(queued)

    def pipelined(self, statements: list[str], params: dict[int, Any]) -> list[Any]:
        """Run statements in one round trip (psycopg's pipeline mode); their cursors.

        ``params`` holds the parameters of the statements that have some, by position. Like
        ``execute``, statements that begin with a read or ``BEGIN`` run again on a new
        connection if they find this one dropped.
        """
        listed = [(sql, params.get(i, ())) for i, sql in enumerate(statements)]
        if self._queued:
            queued, self._queued = self._queued, []
            return self._pipeline([*queued, *listed])[len(queued) :]
        try:
            return self._pipeline(listed)
        except psycopg.OperationalError:
            if not self._again(statements[0]):
                raise
            return self._pipeline(listed)

    def _pipeline(self, statements: list[tuple[str, Any]]) -> list[Any]:
        raw, cursors = self.raw, []
        with raw.pipeline():
            for sql, params in statements:
                text, order = translate(sql)
                cursors.append(raw.execute(text, bind(order, params)))
        return cursors

    def script(self, sql: str) -> None:
        """Run statements without parameters, in one round trip (no placeholders in them)."""
        self._send_queued()
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
        self._send_queued()
        text, order = translate(sql)
        cursor = self.raw.cursor()
        cursor.executemany(text, [bind(order, p) for p in params])
        return cursor

    def close(self) -> None:
        """Close the connection."""
        self._queued = []
        self._raw.close()


SESSION = (
    # One HNSW pass finds as many neighbours as a hybrid search fuses (the default 40, then an
    # iterative scan for the rest, reads more of the index; a larger value set for the role or
    # in the URL is kept); a filtered scan goes on until it has enough rows
    "SELECT set_config('hnsw.ef_search', GREATEST(COALESCE(NULLIF(current_setting("
    f"'hnsw.ef_search', true), '')::int, 0), {SEMANTIC_CANDIDATES})::text, false); "
    "SET hnsw.iterative_scan = relaxed_order"
)
"""How every connection of a store is set up (in one round trip)."""


def connect(url: str, vector_type: bool) -> psycopg.Connection[Any]:
    raw = psycopg.connect(url, autocommit=True, row_factory=row_factory)
    try:
        raw.execute(SESSION)
        if vector_type:
            register_vector(raw)
    except BaseException:
        raw.close()
        raise
    return raw


def register_vector(raw: psycopg.Connection[Any]) -> None:
    """Vectors in and out in pgvector's binary form (one catalog query)."""
    register_vector_info(raw, TypeInfo.fetch(raw, "vector"))
