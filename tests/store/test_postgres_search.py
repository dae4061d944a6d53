"""PostgreSQL's own search: full text and pgvector's HNSW, fused by reciprocal rank in one query.

The shared promises run on both backends in tests/agent/test_archival.py; these are the parts
only PostgreSQL has: vectors as pgvector stores them, one HNSW index per dimension, and searches
that go through that index. The planner scans a small table whole, so the ``client`` here
takes the index (sequential and bitmap scans off for each of its connections, as a large table
makes the planner choose): its filters and its approximate order are what could go wrong.
"""

import math
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from agent import AgentState, AsyncClient, Client
from agent._archival import ArchivalMemory
from agent.store._passages import SEMANTIC_CANDIDATES
from agent.store._postgres import PostgresStore
from agent.testing import FakeEmbedding, ScriptedModel

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)

CATS = [f"Cats, cats and more cats: cat fact number {i}." for i in range(300)]
KITTEN = "A kitten naps in the laundry basket."  # no word in common with "cats"


def with_settings(url: str, *settings: str) -> str:
    """``url`` with PostgreSQL settings for each of its connections (``options=-c...``)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = " ".join([query.get("options", ""), *(f"-c{s}" for s in settings)]).strip()
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    """A client whose nearest-neighbour searches use the HNSW index (as a large table's do)."""
    indexed = with_settings(database, "enable_seqscan=off", "enable_bitmapscan=off")
    made = AsyncClient(indexed, model=ScriptedModel())
    yield made
    await made.aclose()


def archival(agent: AgentState) -> ArchivalMemory:
    assert agent.archival is not None
    return agent.archival


async def hnsw_scans(client: AsyncClient, dims: int) -> int:
    """How many times the HNSW index of ``dims`` dimensions has been scanned.

    Searches run on the store's async connections: their statistics are flushed first.
    """
    store = client.store
    assert isinstance(store, PostgresStore)
    await store._reads.fetch([("SELECT pg_stat_force_next_flush()", ())])
    db = store.db
    db.execute("SELECT pg_stat_force_next_flush()")
    row = db.execute(
        "SELECT idx_scan FROM pg_stat_user_indexes "
        "WHERE schemaname = current_schema() AND indexrelname = ?",
        (f"passages_hnsw_{dims}",),
    ).fetchone()
    return int(row[0])


def hnsw_indexes(client: AsyncClient) -> list[str]:
    rows = client.store.db.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname LIKE 'passages_hnsw_%' ORDER BY indexname"
    ).fetchall()
    return [r[0] for r in rows]


# -- vectors -----------------------------------------------------------------------------


async def test_vectors_are_stored_at_unit_length_with_their_dimensions(
    client: AsyncClient,
) -> None:
    embedding = FakeEmbedding(dimensions=64)
    agent = await client.agents.create(embedding=embedding)
    await archival(agent).insert("Bob loves cats and dogs and more cats.")
    stored, dims = client.store.db.execute("SELECT embedding, dims FROM passages").fetchone()
    vector = client.store.read_vector(stored)
    assert vector is not None
    assert dims == len(vector) == 64
    (raw,) = await embedding.embed(["Bob loves cats and dogs and more cats."])
    norm = math.sqrt(sum(x * x for x in raw))
    assert norm > 1  # stored as given, it would not be of unit length
    assert vector == pytest.approx([x / norm for x in raw], abs=1e-6)


async def test_each_dimension_gets_its_own_hnsw_index(client: AsyncClient) -> None:
    wide = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    narrow = await client.agents.create(embedding=FakeEmbedding(dimensions=32))
    assert hnsw_indexes(client) == []  # made with the first vector of each dimension
    await archival(wide).insert_many([*CATS[:20], KITTEN])
    await archival(narrow).insert_many([*CATS[20:40], KITTEN])
    assert hnsw_indexes(client) == ["passages_hnsw_32", "passages_hnsw_64"]
    for agent, dims in ((wide, 64), (narrow, 32)):
        before = await hnsw_scans(client, dims)
        found = await archival(agent).search("kittens", page_size=1)
        assert [p.text for p in found.results] == [KITTEN]
        assert await hnsw_scans(client, dims) == before + 1


async def test_an_agent_whose_vectors_changed_dimension_searches_the_new_ones(
    client: AsyncClient,
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    await archival(agent).insert_many(CATS[:20])
    archival(agent).embedder = FakeEmbedding(dimensions=32)  # a new embedding model
    await archival(agent).insert(KITTEN)
    found = await archival(agent).search("kittens", page_size=50)
    # the 64-dimensional passages cannot be compared with a 32-dimensional query: the kitten
    # is the only match by meaning, and no cat fact matches "kittens" by word
    assert [p.text for p in found.results] == [KITTEN]
    assert found.total == 1


async def test_vectors_wider_than_float32_hnsw_allows_are_indexed_at_half_precision(
    client: AsyncClient,
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=3072))  # > 2,000
    await archival(agent).insert_many([*CATS[:20], KITTEN])
    assert hnsw_indexes(client) == ["passages_hnsw_3072"]
    before = await hnsw_scans(client, 3072)
    found = await archival(agent).search("kittens", page_size=1)
    assert [p.text for p in found.results] == [KITTEN]
    assert await hnsw_scans(client, 3072) == before + 1


async def test_vectors_too_wide_for_any_hnsw_index_are_searched_exactly(
    client: AsyncClient,
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=4096))
    await archival(agent).insert_many([*CATS[:20], KITTEN])
    assert hnsw_indexes(client) == []  # pgvector's HNSW takes at most 4,000 dimensions
    found = await archival(agent).search("kittens", page_size=1)
    assert [p.text for p in found.results] == [KITTEN]
    assert found.total == 21  # every passage is a neighbour by meaning


async def test_a_passage_with_its_vector_stays_in_one_row_not_in_toast(
    client: AsyncClient,
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=1536))
    await archival(agent).insert_many(CATS[:50])
    db = client.store.db
    toast = db.execute(
        "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'passages'::regclass"
    ).fetchone()[0]
    assert toast == 0  # no text or tsvector moved out: a full-text match reads one row


@pytest.mark.parametrize("undo", ["transaction", "savepoint"])
async def test_an_index_whose_creation_rolled_back_is_made_again(
    client: AsyncClient, undo: str
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=16))
    store = client.store
    with pytest.raises(RuntimeError), store.transaction():
        if undo == "savepoint":  # as group commit undoes one failed step among others
            store.db.execute("SAVEPOINT step")
        await archival(agent).insert("the first vector of sixteen dimensions")
        if undo == "savepoint":
            store.db.execute("ROLLBACK TO step")
            store.db.execute("RELEASE step")
        raise RuntimeError("the step failed")
    assert hnsw_indexes(client) == []
    await archival(agent).insert("the second vector of sixteen dimensions")
    assert hnsw_indexes(client) == ["passages_hnsw_16"]


# -- hybrid search through the index -----------------------------------------------------


async def test_tags_filter_before_the_nearest_neighbours_are_cut(client: AsyncClient) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    await archival(agent).insert_many(CATS)  # 300 passages nearer "cats" than the kitten
    kitten = await archival(agent).insert(KITTEN, tags=["chores"])
    before = await hnsw_scans(client, 64)
    found = await archival(agent).search("cats", page_size=1, tags=["chores"])
    assert [p.id for p in found.results] == [kitten.id]
    assert (found.total, found.pages) == (1, 1)
    both = await archival(agent).search("cats", tags=["chores", "pets"], tag_match="all")
    assert both.total == 0
    assert await hnsw_scans(client, 64) == before + 2


async def test_other_agents_nearer_passages_do_not_crowd_out_this_agents(
    client: AsyncClient,
) -> None:
    crowd = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    await archival(crowd).insert_many(CATS)
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    kitten = await archival(agent).insert(KITTEN)
    found = await archival(agent).search("cats")
    assert [p.id for p in found.results] == [kitten.id]
    assert found.total == 1


@pytest.mark.parametrize("size", [1, 7, 50])
async def test_hybrid_paging_through_the_index_covers_each_result_exactly_once(
    client: AsyncClient, size: int
) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding(dimensions=64))
    # many equal scores: the same words in each text, and each number one word apart
    texts = [f"Note {i}: water plant number {i}." for i in range(150)]
    await archival(agent).insert_many(texts)
    first = await archival(agent).search("plant", page_size=size)
    ids: list[str] = []
    for number in range(first.pages):
        page = await archival(agent).search("plant", page=number, page_size=size)
        assert (page.total, page.pages) == (first.total, first.pages), f"page {number}"
        ids += [p.id for p in page.results]
    assert first.total == 150  # every passage matches "plant" by word
    assert len(ids) == len(set(ids)) == 150
    assert [p.id for p in first.results] == ids[:size]  # the same order, asked again


def test_an_hnsw_pass_finds_the_candidates_a_search_fuses_or_more_if_asked(
    database: str,
) -> None:
    with Client(database, model=ScriptedModel()) as client:
        ef_search = client.store.db.execute("SHOW hnsw.ef_search").fetchone()[0]
        assert int(ef_search) == SEMANTIC_CANDIDATES  # pgvector's default: 40
    wider = with_settings(database, "hnsw.ef_search=400")
    with Client(wider, model=ScriptedModel()) as client:  # the URL's larger value is kept
        assert client.store.db.execute("SHOW hnsw.ef_search").fetchone()[0] == "400"


# -- exact duplicates --------------------------------------------------------------------


def test_clients_inserting_the_same_texts_at_once_store_each_once(database: str) -> None:
    texts = [f"Bob's fact number {i}." for i in range(40)]
    clients = [Client(database, model=ScriptedModel()) for _ in range(3)]
    try:
        agent = clients[0].agents.create()

        def insert_all(client: Client) -> list[tuple[str, bool]]:
            made = [client.agents.passages.create(agent_id=agent.id, text=t) for t in texts]
            return [(p.id, p.duplicate) for p in made]

        with ThreadPoolExecutor(len(clients)) as pool:
            results = list(pool.map(insert_all, clients))
        stored = clients[0].agents.passages.list(agent_id=agent.id)
    finally:
        for client in clients:
            client.close()
    assert sorted(p.text for p in stored) == sorted(texts)
    for i in range(len(texts)):
        answers = [result[i] for result in results]
        assert len({passage_id for passage_id, _ in answers}) == 1  # one passage, one id
        assert sorted(duplicate for _, duplicate in answers) == [False, True, True]
