"""Group commit: steps that finish in one loop tick share a transaction, each atomic.

On both backends (the ``database`` fixture): the savepoints are the same SQL on each.
"""

import asyncio
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import pq

from agent import AsyncClient, ModelRequest, ModelResponse
from agent._commits import GroupCommit
from agent.store import SQLiteStore, Store, open_store
from agent.store._postgres import PostgresStore
from agent.testing import FunctionModel, call, send

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


def commits(store: Store) -> Callable[[], int]:
    """Count the transactions ``store`` commits from now on: call the result once to read it.

    What the database was told, not what the code meant: SQLite's trace of the statements its
    connection runs; PostgreSQL's protocol trace (libpq's), where the server confirms each
    COMMIT.
    """
    if isinstance(store, SQLiteStore):
        seen: list[str] = []
        store.db.set_trace_callback(
            lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None
        )
        return lambda: len(seen)
    assert isinstance(store, PostgresStore)
    pgconn = store.db.raw.pgconn
    trace = tempfile.TemporaryFile("w+")
    pgconn.trace(trace.fileno())
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def count() -> int:
        pgconn.untrace()  # flushes the trace
        trace.seek(0)
        with trace:
            return len(re.findall(r'^B\t\d+\tCommandComplete\t "COMMIT"$', trace.read(), re.M))

    return count


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    """A store open on the test's database (each test makes its own table ``t``), closed after."""
    opened = open_store(database)
    yield opened
    opened.close()


async def test_writes_of_one_tick_share_one_commit(store: Store) -> None:
    store.db.execute("CREATE TABLE t (x INTEGER)")
    group = GroupCommit(store)
    seen = commits(store)

    def insert(x: int) -> None:
        store.db.execute("INSERT INTO t VALUES (?)", (x,))

    await asyncio.gather(*(group.commit(lambda x=x: insert(x)) for x in range(20)))
    assert seen() == 1
    assert store.db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 20


async def test_a_failing_write_is_rolled_back_alone(store: Store) -> None:
    store.db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    group = GroupCommit(store)

    def insert(*values: int) -> None:
        for v in values:
            store.db.execute("INSERT INTO t VALUES (?)", (v,))

    results = await asyncio.gather(
        group.commit(lambda: insert(1)),
        group.commit(lambda: insert(2, 1)),  # 2 goes in, then 1 clashes: all of it undone
        group.commit(lambda: insert(3)),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], INTEGRITY_ERRORS)
    assert [r[0] for r in store.db.execute("SELECT x FROM t ORDER BY x")] == [1, 3]


async def test_a_cancelled_commit_writes_nothing(store: Store) -> None:
    store.db.execute("CREATE TABLE t (x INTEGER)")
    group = GroupCommit(store)
    task = asyncio.ensure_future(
        group.commit(lambda: store.db.execute("INSERT INTO t VALUES (1)") and None)
    )
    await asyncio.sleep(0)  # queued, not yet flushed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert store.db.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0


async def test_many_agents_steps_batch_into_few_commits(database: str) -> None:
    async def reply(request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(0.01)
        if any(m["role"] == "tool" for m in request.messages):
            return send("done")
        return call("core_memory_append", label="notes", content="x")

    client = AsyncClient(database, model=FunctionModel(reply))
    ids = [
        (await client.agents.create(memory_blocks=[{"label": "notes", "value": ""}])).id
        for _ in range(20)
    ]
    seen = commits(client.store)
    await asyncio.gather(
        *(
            client.agents.messages.create(agent_id=i, messages=[{"role": "user", "content": "go"}])
            for i in ids
        )
    )
    # 20 agents x (take the lease + user message + 2 steps + release it) would be 100 commits
    # one by one
    assert seen() < 25
    for agent_id in ids:
        block = await client.agents.blocks.retrieve(agent_id, block_label="notes")
        assert block.value == "x"
    stored = client.store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    assert stored == 20 * 5  # user, call, result, send call, receipt
    client.close()
