"""PostgreSQL reads on the engine's path run on async connections, a few per event loop.

A search that waits on the server leaves the event loop free; the freshness checks of many
agents in one tick are one query; reads beyond the pool's size wait their turn, and a cancelled
wait gives its turn on; a dropped pooled connection is replaced; closing the client closes the
pool's connections, awaited or not.
"""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from _postgres import drop_schema, fresh_url

from agent import AsyncClient, Client, ModelRequest, ModelResponse
from agent.store._pg_reads import POOL_SIZE
from agent.store._postgres import PostgresStore
from agent.testing import FakeEmbedding, FunctionModel, ScriptedModel, call, send


@pytest.fixture
def url() -> Iterator[str]:
    made = fresh_url()
    yield made
    drop_schema(made)


@pytest.fixture
async def client(url: str) -> AsyncIterator[AsyncClient]:
    made = AsyncClient(url, model=ScriptedModel())
    yield made
    await made.aclose()


def store_of(client: AsyncClient) -> PostgresStore:
    assert isinstance(client.store, PostgresStore)
    return client.store


async def pooled_pid(client: AsyncClient) -> int:
    rows = await store_of(client)._reads.fetch([("SELECT pg_backend_pid()", ())])
    return int(rows[0][0][0])


def alive(url: str, pid: int) -> bool:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return bool(row.fetchone()[0])  # type: ignore[index]


def gone(url: str, pid: int) -> bool:
    """Whether the server process ``pid`` has ended (its end is seen within a few seconds)."""
    deadline = time.monotonic() + 5
    while alive(url, pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("hybrid", [False, True])
async def test_a_search_waiting_on_the_server_leaves_the_event_loop_free(
    url: str, hybrid: bool
) -> None:
    client = AsyncClient(url, model=ScriptedModel(), embedding=FakeEmbedding(dimensions=8))
    agent = await client.agents.create(embedding=None if not hybrid else FakeEmbedding(8))
    assert agent.archival is not None
    await agent.archival.insert("The cat sleeps on the warm laundry.")
    admin = psycopg.connect(url, autocommit=True)
    admin.execute("BEGIN")
    admin.execute("LOCK TABLE passages IN ACCESS EXCLUSIVE MODE")  # every read of it waits
    release = threading.Timer(3.0, lambda: admin.execute("ROLLBACK"))
    release.start()
    try:
        search = asyncio.create_task(agent.archival.search("cat"))
        start = time.perf_counter()
        await asyncio.sleep(0.2)  # a search blocking the loop would hold this for 3 s
        ticked = time.perf_counter() - start
        assert ticked < 1.5, f"the loop was blocked for {ticked:.1f} s"
        assert not search.done()  # still waiting on the lock
        release.cancel()
        admin.execute("ROLLBACK")
        found = await search
        assert [p.text for p in found.results] == ["The cat sleeps on the warm laundry."]
    finally:
        release.cancel()
        admin.close()
        await client.aclose()


async def test_freshness_checks_of_one_tick_are_one_query(client: AsyncClient) -> None:
    store = store_of(client)
    agents = [await client.agents.create(name=f"a{i}", memory_blocks=[]) for i in range(12)]
    batches: list[int] = []
    read = store.aversions_of

    async def counted(agent_ids: list[str]) -> dict[str, object]:
        batches.append(len(agent_ids))
        return await read(agent_ids)  # type: ignore[return-value]

    client.model = ScriptedModel([send("hi")] * len(agents) * 2)
    for a in agents:  # loaded once per client: that first read is the load's own
        await client.agents.messages.create(
            agent_id=a.id, messages=[{"role": "user", "content": "hello"}]
        )
    store.aversions_of = counted  # type: ignore[method-assign,assignment]
    batches.clear()
    one_by_one = store.versions
    store.versions = lambda agent_id: pytest.fail("a step read its versions alone")  # type: ignore[method-assign,assignment,return-value]
    await asyncio.gather(
        *(
            client.agents.messages.create(
                agent_id=a.id, messages=[{"role": "user", "content": "hello"}]
            )
            for a in agents
        )
    )
    store.versions = one_by_one  # type: ignore[method-assign]
    assert sum(batches) >= len(agents)  # every step asked
    assert max(batches) == len(agents)  # and all twelve in one query at least once


async def test_a_tool_edit_check_reads_the_block_versions_of_one_tick_together(
    client: AsyncClient,
) -> None:
    store = store_of(client)
    agents = [
        await client.agents.create(name=f"a{i}", memory_blocks=[{"label": "notes", "value": ""}])
        for i in range(8)
    ]
    batches: list[list[str]] = []
    read = store.ablock_versions

    async def counted(block_ids: list[str]) -> dict[str, int]:
        batches.append(block_ids)
        return await read(block_ids)

    def reply(request: ModelRequest) -> ModelResponse:
        if request.last_user_message != "go":
            return send("hi")
        if request.messages[-1]["role"] == "tool":
            return send("done")
        return call("core_memory_append", label="notes", content="seen")

    client.model = FunctionModel(reply)
    for a in agents:  # loaded: the turns below start together
        await client.agents.messages.create(
            agent_id=a.id, messages=[{"role": "user", "content": "hello"}]
        )
    store.ablock_versions = counted  # type: ignore[method-assign]
    await asyncio.gather(
        *(
            client.agents.messages.create(
                agent_id=a.id, messages=[{"role": "user", "content": "go"}]
            )
            for a in agents
        )
    )
    assert sum(len(b) for b in batches) == len(agents)  # each edit was checked
    assert len(batches) < len(agents)  # in fewer queries than edits
    for a in agents:
        notes = await client.agents.blocks.retrieve(a.id, block_label="notes")
        assert notes.value == "seen"


async def test_reads_beyond_the_pool_size_wait_their_turn_and_cancelled_waits_pass_it_on(
    client: AsyncClient,
) -> None:
    reads = store_of(client)._reads
    slow = [("SELECT pg_backend_pid(), pg_sleep(0.05)", ())]
    waiting = [asyncio.create_task(reads.fetch(slow)) for _ in range(POOL_SIZE * 2)]
    await asyncio.sleep(0.01)  # the first POOL_SIZE run, the others wait
    for task in waiting[POOL_SIZE:][::2]:
        task.cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    finished = [r for r in done if not isinstance(r, BaseException)]
    assert len(finished) == POOL_SIZE + POOL_SIZE // 2
    assert len({rows[0][0][0] for rows in finished}) <= POOL_SIZE  # never more connections
    again = await asyncio.gather(*(reads.fetch(slow) for _ in range(POOL_SIZE * 2)))
    assert len({rows[0][0][0] for rows in again}) <= POOL_SIZE  # no turn was lost


async def test_a_dropped_pooled_connection_is_replaced_and_the_read_runs_again(
    client: AsyncClient, url: str
) -> None:
    agent = await client.agents.create()
    assert agent.archival is not None
    await agent.archival.insert("Bob likes tea.")
    pid = await pooled_pid(client)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert gone(url, pid)
    found = await agent.archival.search("tea")
    assert [p.text for p in found.results] == ["Bob likes tea."]
    assert await pooled_pid(client) != pid


async def test_aclose_closes_the_pooled_connections(url: str) -> None:
    client = AsyncClient(url, model=ScriptedModel())
    pid = await pooled_pid(client)
    await client.aclose()
    assert gone(url, pid)
    with pytest.raises(psycopg.InterfaceError):
        await store_of(client)._reads.fetch([("SELECT 1", ())])


def test_a_sync_clients_close_closes_its_pooled_connections(url: str) -> None:
    with Client(url, model=ScriptedModel([send("hi")])) as client:
        agent = client.agents.create(memory_blocks=[])
        client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "x"}]
        )
        pid = client._portal.run(pooled_pid(client.async_client))
    assert gone(url, pid)


async def test_a_client_closed_without_awaiting_closes_its_pool(
    url: str,
) -> None:
    client = AsyncClient(url, model=ScriptedModel())
    pid = await pooled_pid(client)
    client.close()
    for _ in range(50):
        await asyncio.sleep(0.02)
        if not alive(url, pid):
            break
    assert gone(url, pid)


def test_reads_work_on_each_event_loop_a_client_is_used_from(url: str) -> None:
    client = AsyncClient(url, model=ScriptedModel())
    agent = asyncio.run(client.agents.create())
    assert agent.archival is not None
    archive = agent.archival

    async def insert_and_count(text: str) -> int:
        await archive.insert(text)
        return (await archive.search("passage")).total

    assert asyncio.run(insert_and_count("the first passage")) == 1
    assert (
        asyncio.run(insert_and_count("the second passage")) == 2
    )  # another loop: a pool of its own
    client.close()
