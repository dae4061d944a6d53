"""PostgreSQL's own search: full text and pgvector's HNSW, fused by reciprocal rank in one query.

The shared promises run on both backends in tests/agent/test_archival.py; these are the parts
only PostgreSQL has: vectors as pgvector stores them, one HNSW index per dimension, and searches
that go through that index (a small table is otherwise scanned in full, and the index path,
with its filters and its approximate order, would go untested).
"""

import math
from collections.abc import AsyncIterator

import pytest

from agent import AsyncClient
from agent.testing import FakeEmbedding, ScriptedModel

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    made = AsyncClient(database, model=ScriptedModel())
    yield made
    made.close()


async def test_vectors_are_stored_at_unit_length_with_their_dimensions(
    client: AsyncClient,
) -> None:
    embedding = FakeEmbedding(dimensions=64)
    agent = await client.agents.create(embedding=embedding)
    assert agent.archival is not None
    await agent.archival.insert("Bob loves cats and dogs and more cats.")
    stored, dims = client.store.db.execute("SELECT embedding, dims FROM passages").fetchone()
    vector = client.store.read_vector(stored)
    assert vector is not None
    assert dims == len(vector) == 64
    (raw,) = await embedding.embed(["Bob loves cats and dogs and more cats."])
    norm = math.sqrt(sum(x * x for x in raw))
    assert norm > 1  # stored as given, it would not be of unit length
    assert vector == pytest.approx([x / norm for x in raw], abs=1e-6)
