"""PostgreSQL round trips: what nobody reads (``BEGIN``, savepoints) goes with the next statement.

Counted from libpq's own protocol trace: every exchange the client waits on ends with a
``Sync`` (the extended protocol, pipelines included) or is a simple ``Query``.
"""

import asyncio
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from _postgres import drop_schema, fresh_url
from psycopg import pq

from agent import AsyncClient
from agent._commits import GroupCommit
from agent._history import Record
from agent._owner import Holder, this_host
from agent.store._postgres import PostgresStore
from agent.testing import ScriptedModel


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    url = fresh_url()
    opened = PostgresStore(url)
    opened.db.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    yield opened
    opened.close()
    drop_schema(url)


def round_trips(store: PostgresStore) -> Callable[[], list[str]]:
    """Trace ``store``'s connection from now on; call the result once for what it sent.

    Each item is one round trip: the statements (``Parse``/``Query`` texts) sent in it.
    """
    pgconn = store.db.raw.pgconn
    trace = tempfile.TemporaryFile("w+")
    pgconn.trace(trace.fileno())
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def read() -> list[str]:
        pgconn.untrace()
        trace.seek(0)
        with trace:
            lines = trace.read().splitlines()
        trips, sent = [], []
        for line in lines:
            if not line.startswith("F\t"):
                continue
            found = re.match(r'F\t\d+\t(Parse|Query)\t\s*(?:"[^"]*" )?"(.*?)"', line)
            if found:
                sent.append(found.group(2))
            if (found and found.group(1) == "Query") or re.match(r"F\t\d+\tSync", line):
                trips.append("; ".join(sent))
                sent = []
        return trips

    return read


def insert(store: PostgresStore, *values: int) -> Callable[[], None]:
    def write() -> None:
        for v in values:
            store.db.execute("INSERT INTO t VALUES (?)", (v,))

    return write


def count(store: PostgresStore) -> int:
    return int(store.db.execute("SELECT COUNT(*) FROM t").fetchone()[0])


async def test_a_group_commit_costs_one_round_trip_per_statement_and_one_to_commit(
    store: PostgresStore,
) -> None:
    group = GroupCommit(store)
    seen = round_trips(store)
    await asyncio.gather(*(group.commit(insert(store, x)) for x in range(3)))
    trips = seen()
    assert len(trips) == 4, trips  # before: BEGIN+lock, then 3 x (savepoint, insert, release)
    assert trips[0].startswith("BEGIN; SELECT pg_advisory_xact_lock(")
    assert trips[0].endswith("SAVEPOINT step; INSERT INTO t VALUES ($1)")
    assert trips[1] == "RELEASE step; SAVEPOINT step; INSERT INTO t VALUES ($1)"
    assert trips[-1] == "RELEASE step; COMMIT"
    assert count(store) == 3


def test_a_transaction_that_writes_nothing_sends_nothing(store: PostgresStore) -> None:
    seen = round_trips(store)
    with store.transaction():
        pass
    with pytest.raises(ValueError), store.transaction():
        raise ValueError("nothing was sent")
    assert seen() == []
    assert not store.db.in_transaction


async def test_a_step_failing_before_any_statement_is_undone_alone(store: PostgresStore) -> None:
    group = GroupCommit(store)

    def fails() -> None:
        raise ValueError("the tool write refused")

    results = await asyncio.gather(
        group.commit(insert(store, 1)),
        group.commit(fails),
        group.commit(insert(store, 2)),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert results[0] is None and results[2] is None
    assert count(store) == 2


async def test_a_statement_failing_in_a_pipeline_raises_its_own_error_and_is_undone_alone(
    store: PostgresStore,
) -> None:
    store.db.execute("INSERT INTO t VALUES (7)")
    group = GroupCommit(store)
    results = await asyncio.gather(
        group.commit(insert(store, 1)),
        group.commit(insert(store, 8, 7)),  # its second insert breaks the unique constraint
        group.commit(insert(store, 2)),
        return_exceptions=True,
    )
    assert isinstance(results[1], psycopg.errors.UniqueViolation)
    assert results[0] is None and results[2] is None
    rows = store.db.execute("SELECT x FROM t ORDER BY x").fetchall()
    assert [r[0] for r in rows] == [1, 2, 7]


def test_a_failed_commit_rolls_back_and_the_next_transaction_starts_clean(
    store: PostgresStore,
) -> None:
    store.db.execute("CREATE TABLE d (x INTEGER UNIQUE DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(psycopg.errors.UniqueViolation), store.transaction():
        store.db.execute("INSERT INTO d VALUES (1), (1)")  # checked at COMMIT
    assert not store.db.in_transaction
    with store.transaction():
        store.db.execute("INSERT INTO d VALUES (2)")
    assert [r[0] for r in store.db.execute("SELECT x FROM d").fetchall()] == [2]


async def test_a_steps_lease_check_messages_and_block_write_go_in_one_round_trip() -> None:
    url = fresh_url()
    client = AsyncClient(url, model=ScriptedModel())
    try:
        agent = await client.agents.create(memory_blocks=[{"label": "notes", "value": "v0"}])
        store = client.store
        assert isinstance(store, PostgresStore)
        me = Holder("me", this_host(), os.getpid())
        assert store.take_lease(agent.id, me, 60.0, time.time()) is None
        [(block, version)] = store.versioned_blocks(agent.id)
        block.value = "v1"
        seen = round_trips(store)
        with store.transaction():
            store.save_step(
                agent.id, "me", [Record("user", "a"), Record("user", "b")], [(block, version)]
            )
        trips = seen()
        assert len(trips) == 2, trips
        sent = trips[0].split("; ")
        assert [s.split()[0] for s in sent] == ["BEGIN", "SELECT", "SELECT", "INSERT", "UPDATE"]
        assert trips[1] == "COMMIT"
    finally:
        await client.aclose()
        drop_schema(url)
