"""``Store.save_step``: a step's lease check, messages and block compare-and-sets, on both backends.

PostgreSQL sends them in one round trip; what it sends with a lost lease or a deleted agent
must come undone with the step, and the error must say which it was.
"""

import os
import time
from collections.abc import AsyncIterator

import pytest

from agent import AsyncClient
from agent._errors import NotFoundError
from agent._history import Record
from agent._memory import Block
from agent._owner import Holder, this_host
from agent.store import LeaseLost, Store, open_store
from agent.testing import ScriptedModel

ME = Holder("me", this_host(), os.getpid())
OTHER = Holder("other", this_host(), os.getpid())


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    made = AsyncClient(database, model=ScriptedModel())
    yield made
    await made.aclose()


async def new_agent(client: AsyncClient, holder: Holder = ME) -> tuple[str, Block, int]:
    """An agent with one block, its lease taken by ``holder``: (id, block, block version)."""
    agent = await client.agents.create(memory_blocks=[{"label": "notes", "value": "v0"}])
    store = client.store
    assert store.take_lease(agent.id, holder, 60.0, time.time()) is None
    [(block, version)] = store.versioned_blocks(agent.id)
    return agent.id, block, version


def edited(block: Block, value: str) -> Block:
    return Block(label=block.label, value=value, id=block.id)


def history(store: Store, agent_id: str) -> list[str]:
    return [r.content for r in store.messages(agent_id)]


async def test_a_step_saves_its_messages_and_blocks_and_reports_each_result(
    client: AsyncClient,
) -> None:
    store = client.store
    agent_id, block, version = await new_agent(client)
    records = [Record("user", "hello"), Record("assistant", "hi")]
    with store.transaction():
        before, after, versions = store.save_step(
            agent_id, "me", records, [(edited(block, "v1"), version)]
        )
    assert after is not None and after > before
    assert versions == [version + 1]
    assert history(store, agent_id)[-2:] == ["hello", "hi"]
    assert store.versioned_block(block.id) == (edited(block, "v1"), version + 1)


async def test_a_block_written_meanwhile_is_reported_not_overwritten(client: AsyncClient) -> None:
    store = client.store
    agent_id, block, version = await new_agent(client)
    assert store.write_block(edited(block, "theirs"), version) == version + 1
    with store.transaction():
        _, _, versions = store.save_step(agent_id, "me", [], [(edited(block, "mine"), version)])
    assert versions == [None]
    assert store.versioned_block(block.id) == (edited(block, "theirs"), version + 1)


async def test_a_lost_lease_raises_and_nothing_sent_with_the_check_stays(
    client: AsyncClient,
) -> None:
    store = client.store
    agent_id, block, version = await new_agent(client, holder=OTHER)
    before = history(store, agent_id)
    with pytest.raises(LeaseLost), store.transaction():
        store.save_step(
            agent_id, "me", [Record("user", "lost")], [(edited(block, "lost"), version)]
        )
    assert history(store, agent_id) == before
    assert store.versioned_block(block.id) == (block, version)


async def test_an_agent_deleted_meanwhile_raises_not_found_and_nothing_stays(
    client: AsyncClient, database: str
) -> None:
    store = client.store
    agent_id, block, version = await new_agent(client)
    other = open_store(database)
    other.delete_agent(agent_id)
    other.close()
    with pytest.raises(NotFoundError, match="was deleted"), store.transaction():
        store.save_step(agent_id, "me", [Record("user", "late")], [(edited(block, "x"), version)])
    assert store.messages(agent_id) == []
    assert store.versioned_block(block.id) is None  # deleted with its only agent
    survivor, _, _ = await new_agent(client)  # the next transaction starts clean
    assert store.agent(survivor) is not None


async def test_a_step_with_more_messages_than_one_statement_takes_saves_them_all(
    client: AsyncClient,
) -> None:
    # PostgreSQL takes 65,535 parameters a statement: 6,554 messages of 10 would not fit
    store = client.store
    agent_id, _, _ = await new_agent(client)
    records = [Record("user", f"message {i}") for i in range(12_000)]
    with store.transaction():
        before, after, _ = store.save_step(agent_id, "me", records[:7_000], [])
        last = store.add_messages(agent_id, records[7_000:])
    assert after is not None and last is not None and before < after < last
    stored = store.messages(agent_id)
    assert [r.content for r in stored] == [r.content for r in records]
