"""Reads that do not block the event loop: psycopg's async connections.

The store's own connection is synchronous: a write transaction runs start to end in one loop
callback (``GroupCommit``), which keeps every write atomic and in order. Reads on the engine's
path (what changed since a step last looked, archival and recall search) go through a few
async connections instead: the loop serves other agents and requests while PostgreSQL answers,
and a 20 ms search no longer stalls every other request of a server worker.

An event loop gets connections of its own (a ``Client`` runs its loop in a thread; a program
may run several loops in turn), made as reads need them, at most ``POOL_SIZE``. The pool is
ours, not ``psycopg_pool``'s: that one keeps worker tasks on the loop, and a client closed
without awaiting, right before its loop ended, could leave ``asyncio.run`` waiting forever for
them to stop (reproduced on Python 3.11). Ours has no tasks: closing is immediate, from any
thread, whether the loop still runs or not.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async

from agent.store._pg_connection import SESSION, bind, row_factory, translate

__all__ = ["POOL_SIZE", "AsyncReads", "Query"]

POOL_SIZE = 4
"""Async connections per event loop at most (concurrent searches beyond it wait their turn)."""

Query = tuple[str, Sequence[Any]]
"""A statement with ``?`` placeholders and its parameters."""


class AsyncReads:
    """Reads of one store on async connections: a few per event loop."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
        self._closed = False

    async def fetch(self, queries: list[Query], setup: Sequence[str] = ()) -> list[list[Any]]:
        """Each query's rows, read in one round trip (a pipeline when there are several).

        ``setup`` statements run first, in a read-only transaction with the queries (``SET
        LOCAL`` planner settings). A read that finds its connection dropped runs once more, on
        a new one: it changed nothing.
        """
        pool = self._pool()
        async with pool.connection() as conn:
            try:
                return await _fetch(conn, queries, setup)
            except psycopg.OperationalError:
                if not conn.closed:  # the server refused the read, not the connection
                    raise
        async with pool.connection() as conn:  # the dropped one was not given back
            return await _fetch(conn, queries, setup)

    def _pool(self) -> _Pool:
        if self._closed:
            raise psycopg.InterfaceError("the store is closed")
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for ended in [other for other in self._pools if other.is_closed()]:
                self._pools.pop(ended).close()
            pool = self._pools[loop] = _Pool(self._url)
        return pool

    def close(self) -> None:
        """Close every idle connection now, and those in use as their reads end."""
        self._closed = True
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()


class _Pool:
    """One event loop's connections: idle ones reused, new ones made up to ``POOL_SIZE``."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._made = 0
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._take()
        try:
            yield conn
        finally:
            self._give_back(conn)

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        while not self._idle and self._made >= POOL_SIZE:
            turn = asyncio.get_running_loop().create_future()
            self._waiting.append(turn)
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._wake()  # handed a turn while cancelled: pass it on
                raise
        if self._idle:
            return self._idle.pop()
        self._made += 1
        try:
            return await _connect(self._url)
        except BaseException:
            self._made -= 1
            self._wake()
            raise

    def _give_back(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._closed or conn.closed or conn.info.transaction_status != _IDLE:
            _close_now(conn)  # dropped, or left mid-transaction by a failed pipeline
            self._made -= 1
        else:
            self._idle.append(conn)
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            _close_now(conn)


_IDLE = psycopg.pq.TransactionStatus.IDLE


def _close_now(conn: psycopg.AsyncConnection[Any]) -> None:
    """Close an async connection without awaiting (its ``close`` does nothing that waits)."""
    conn.pgconn.finish()


async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
    """A new connection: the store's session settings and pgvector's binary vectors."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=row_factory)
    try:
        await conn.execute(SESSION)
        await register_vector_async(conn)
    except BaseException:
        _close_now(conn)
        raise
    return conn


async def _fetch(
    conn: psycopg.AsyncConnection[Any], queries: list[Query], setup: Sequence[str]
) -> list[list[Any]]:
    if len(queries) == 1 and not setup:
        text, order = translate(queries[0][0])
        cursor = await conn.execute(text, bind(order, queries[0][1]))
        return [await cursor.fetchall()]
    statements = queries
    if setup:  # the settings hold for this transaction only
        begin = [("BEGIN READ ONLY", ()), *((sql, ()) for sql in setup)]
        statements = [*begin, *queries, ("COMMIT", ())]
    cursors = []
    async with conn.pipeline():
        for sql, params in statements:
            text, order = translate(sql)
            cursors.append(await conn.execute(text, bind(order, params)))
    first = len(setup) + 1 if setup else 0
    return [await c.fetchall() for c in cursors[first : first + len(queries)]]
