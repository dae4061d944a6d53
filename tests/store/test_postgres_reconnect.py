"""A connection the server drops (a restart, a failover, an administrator) is replaced.

Each test ends the client's own server process with ``pg_terminate_backend`` from another
connection, as a restart does, then goes on using the same client.
"""

from collections.abc import Iterator

import psycopg
import pytest
from _postgres import drop_schema, fresh_url

from agent import Client
from agent.testing import FakeEmbedding, ScriptedModel, send


@pytest.fixture
def url() -> Iterator[str]:
    made = fresh_url()
    yield made
    drop_schema(made)


def drop_connection(client: Client) -> None:
    """End the client's server process from outside, as a server restart would."""
    store = client.async_client.store
    pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(store.db.raw.info.dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]


def test_reads_after_a_dropped_connection_just_work(url: str) -> None:
    with Client(url) as client:
        agent = client.agents.create(name="bob", memory_blocks=[{"label": "human", "value": "Bob"}])
        drop_connection(client)
        assert [a.name for a in client.agents.list()] == ["bob"]  # a read: run again
        assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "Bob"


def test_a_turn_after_a_dropped_connection_runs_and_is_saved(url: str) -> None:
    with Client(url, model=ScriptedModel([send("hello")])) as client:
        agent = client.agents.create(name="bob", memory_blocks=[])
        drop_connection(client)
        response = client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "hi"}]
        )
        assert response.stop_reason == "end_turn"
        assert [m.message_type for m in response.messages][-1] == "assistant_message"
    with Client(url) as again:  # it was committed, not only shown
        history = again.agents.messages.list(agent_id=agent.id)
        assert [m.message_type for m in history][-2:] == ["user_message", "assistant_message"]


def test_a_write_that_finds_the_connection_dropped_fails_once_and_changes_nothing(
    url: str,
) -> None:
    with Client(url) as client:
        agent = client.agents.create(name="bob", memory_blocks=[{"label": "human", "value": "Bob"}])
        store = client.async_client.store
        drop_connection(client)
        # a single write outside a transaction may have reached the server before the drop:
        # it is never run twice; it fails, and the next statement reconnects
        with pytest.raises(psycopg.OperationalError):
            store.db.execute("UPDATE agents SET name = 'robert' WHERE id = ?", (agent.id,))
        assert client.agents.retrieve(agent_id=agent.id).name == "bob"
        client.agents.modify(agent_id=agent.id, name="robert")
        assert client.agents.retrieve(agent_id=agent.id).name == "robert"


def test_a_hybrid_search_after_a_dropped_connection_just_works(url: str) -> None:
    with Client(url, embedding=FakeEmbedding()) as client:
        agent = client.agents.create(name="bob", memory_blocks=[], embedding=FakeEmbedding().name)
        client.agents.passages.create(agent_id=agent.id, text="Bob plays the cello.")
        archive = client.async_client.archival(agent.id, FakeEmbedding().name)
        drop_connection(client)
        page = client._portal.run(archive.search("who plays the cello"))
        assert [p.text for p in page.results] == ["Bob plays the cello."]
