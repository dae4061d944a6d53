"""Archival memory: passages, full-text search, hybrid search with embeddings, paging.

Each test runs on both backends (the ``database`` fixture) unless it reads SQLite's own parts.
"""

import array
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import agent._vectors as vectors
from agent import AgentState, AsyncClient, NotFoundError
from agent.testing import FakeEmbedding, ScriptedModel

MakeAsyncClient = Callable[..., AsyncClient]
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
"""For a test of SQLite's own parts (its float32 blobs, its in-process vector index)."""

CORPUS = [
    "Bob loves cats and has two of them, Miso and Tofu.",
    "Bob is allergic to peanuts; never suggest peanut butter.",
    "Bob works as a nurse at the city hospital on night shifts.",
    "Bob's sister Alice lives in Lisbon and teaches chemistry.",
    "Bob drives an old blue Volvo that breaks down often.",
    "Bob plays the cello in a community orchestra on Thursdays.",
    "Bob's birthday is on the 14th of March.",
    "Bob prefers green tea to coffee in the morning.",
    "Bob is learning Japanese and practises kanji every evening.",
    "Bob ran the Berlin marathon in 2019 in under four hours.",
    "Bob hates horror movies but enjoys old westerns.",
    "Bob's favourite food is mushroom risotto.",
    "Bob is saving money to buy a house with a garden.",
    "Bob's best friend Carlos moved to Mexico City last year.",
    "Bob grows tomatoes and basil on his balcony.",
    "Bob reads science fiction, especially Ursula Le Guin.",
    "Bob's flat is on the fifth floor without a lift.",
    "Bob volunteers at an animal shelter on Sundays.",
    "Bob is afraid of flying and takes trains when he can.",
    "Bob's mother calls him every Sunday evening.",
    "Bob wants to visit Japan in the spring to see cherry blossoms.",
    "Bob has been vegetarian since 2021.",
]

QUESTIONS = [
    ("which pets does Bob love", "Bob loves cats"),
    ("what is Bob allergic to", "allergic to peanuts"),
    ("where does Bob's sister live", "sister Alice"),
    ("what instrument does Bob play", "plays the cello"),
    ("when is his birthday", "birthday"),
    ("what car does he drive", "blue Volvo"),
    ("what does Bob drink in the morning", "green tea"),
    ("which marathon did he run", "Berlin marathon"),
    ("what does Bob grow on the balcony", "tomatoes and basil"),
    ("what movies does Bob hate", "horror movies"),
]


class FailingEmbedding:
    """An embedding model whose every request fails."""

    name = "openai/broken"

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        raise RuntimeError("the embedding server is down")


@pytest.fixture
async def client(database: str) -> AsyncIterator[AsyncClient]:
    """A client on each backend."""
    made = AsyncClient(database, model=ScriptedModel())
    yield made
    made.close()


async def new_agent(
    client: AsyncClient, texts: list[str] = CORPUS, embedding: Any = None
) -> AgentState:
    agent = await client.agents.create(embedding=embedding)
    assert agent.archival is not None
    for text in texts:
        await agent.archival.insert(text)
    return agent


def archival(agent: AgentState) -> Any:
    assert agent.archival is not None
    return agent.archival


# -- inserting ---------------------------------------------------------------------------


async def test_insert_returns_the_stored_passage(client: AsyncClient) -> None:
    agent = await new_agent(client, [])
    passage = await archival(agent).insert("Bob loves cats.", tags=["Pets", " family "])
    assert passage.id
    assert passage.text == "Bob loves cats."
    assert passage.tags == ["family", "pets"]
    assert passage.created_at.tzinfo is not None
    assert passage.duplicate is False
    assert passage.embedded is False
    listed = await client.agents.passages.list(agent_id=agent.id)
    assert [(p.id, p.text) for p in listed] == [(passage.id, "Bob loves cats.")]


async def test_an_exact_duplicate_is_not_stored_twice(client: AsyncClient) -> None:
    agent = await new_agent(client, [])
    first = await archival(agent).insert("Bob loves cats.")
    again = await archival(agent).insert("Bob loves cats.")
    assert again.duplicate is True
    assert again.id == first.id
    assert archival(agent).count() == 1
    found = await archival(agent).search("cats")
    assert found.total == 1


async def test_a_duplicate_with_new_tags_keeps_one_passage_with_both_tags(
    client: AsyncClient,
) -> None:
    agent = await new_agent(client, [])
    await archival(agent).insert("Bob loves cats.", tags=["pets"])
    again = await archival(agent).insert("Bob loves cats.", tags=["family"])
    assert again.duplicate
    assert again.tags == ["family", "pets"]
    assert archival(agent).count() == 1
    assert (await archival(agent).search("cats", tags=["family"])).total == 1


async def test_similar_but_different_texts_are_both_stored(client: AsyncClient) -> None:
    agent = await new_agent(client, [])
    await archival(agent).insert("Bob loves cats.")
    other = await archival(agent).insert("Bob loves cats!")
    assert not other.duplicate
    assert archival(agent).count() == 2


async def test_each_agent_has_its_own_archive(client: AsyncClient) -> None:
    bob = await new_agent(client, ["Bob loves cats."])
    eve = await new_agent(client, ["Eve loves dogs."])
    again = await archival(eve).insert("Bob loves cats.")
    assert not again.duplicate  # the same text in another agent's archive is not a duplicate
    assert [p.text for p in (await archival(bob).search("dogs")).results] == []
    assert [p.text for p in (await archival(eve).search("dogs")).results] == ["Eve loves dogs."]


# -- full-text relevance: BM25 on SQLite, ts_rank on PostgreSQL --------------------------


@pytest.mark.parametrize(("query", "expected"), QUESTIONS)
async def test_the_right_passage_comes_first(
    client: AsyncClient, query: str, expected: str
) -> None:
    agent = await new_agent(client)
    found = await archival(agent).search(query)
    assert found.results, query
    assert expected in found.results[0].text


async def test_no_match_is_an_empty_page(client: AsyncClient) -> None:
    agent = await new_agent(client)
    found = await archival(agent).search("xylophone")
    assert (found.results, found.total, found.page, found.pages) == ([], 0, 0, 0)
    assert found.summary() == "page 1 of 1, 0 results"


@pytest.mark.parametrize("query", ["", "   ", "?!", '"', "AND OR NOT", "cats*", "a:b (c"])
async def test_any_query_text_is_safe(client: AsyncClient, query: str) -> None:
    agent = await new_agent(client)
    found = await archival(agent).search(query)
    assert found.total >= len(found.results)
    assert {p.text for p in found.results} <= set(CORPUS)


async def test_a_search_finds_a_word_in_any_form(client: AsyncClient) -> None:
    agent = await new_agent(client)
    found = await archival(agent).search("volunteering")  # porter: volunteers, volunteering
    assert [p.text for p in found.results] == ["Bob volunteers at an animal shelter on Sundays."]


# -- paging ------------------------------------------------------------------------------


async def all_pages(agent: AgentState, query: str, size: int) -> tuple[list[str], list[Any]]:
    first = await archival(agent).search(query, page=0, page_size=size)
    ids: list[str] = []
    pages = []
    for number in range(first.pages):
        page = await archival(agent).search(query, page=number, page_size=size)
        pages.append(page)
        ids += [p.id for p in page.results]
    return ids, pages


@pytest.mark.parametrize("embedding", [None, FakeEmbedding()], ids=["bm25", "hybrid"])
@pytest.mark.parametrize("size", [1, 3, 5, 22, 50])
async def test_paging_covers_every_result_exactly_once(
    client: AsyncClient, embedding: Any, size: int
) -> None:
    agent = await new_agent(client, embedding=embedding)
    ids, pages = await all_pages(agent, "Bob", size)
    total = pages[0].total
    assert total == len(CORPUS)
    assert len(ids) == total
    assert len(set(ids)) == total
    assert {p.id for p in archival(agent).passages()} == set(ids)
    for number, page in enumerate(pages):
        assert (page.page, page.total, page.pages) == (number, total, math.ceil(total / size))
        assert len(page.results) == min(size, total - number * size)
        assert page.summary() == f"page {number + 1} of {page.pages}, {total} results"


async def test_paging_a_partial_match(client: AsyncClient) -> None:
    agent = await new_agent(client)
    ids, pages = await all_pages(agent, "Sunday evening", 2)
    expected = {
        p.id for p in archival(agent).passages() if "Sunday" in p.text or "evening" in p.text
    }
    assert len(expected) == 3
    assert len(ids) == len(set(ids)) == pages[0].total == 3
    assert set(ids) == expected
    assert [len(p.results) for p in pages] == [2, 1]
    # the passage with both words ranks first
    assert pages[0].results[0].text == "Bob's mother calls him every Sunday evening."


@pytest.mark.parametrize("embedding", [None, FakeEmbedding()], ids=["bm25", "hybrid"])
async def test_a_page_past_the_end_is_empty_but_keeps_the_total(
    client: AsyncClient, embedding: Any
) -> None:
    agent = await new_agent(client, embedding=embedding)
    found = await archival(agent).search("Bob", page=99, page_size=5)
    assert found.results == []
    assert (found.page, found.total, found.pages) == (99, len(CORPUS), 5)


async def test_hybrid_paging_is_consistent_beyond_a_hundred_passages(client: AsyncClient) -> None:
    agent = await client.agents.create(embedding=FakeEmbedding())
    await archival(agent).insert_many([f"Note {i}: water plant number {i}." for i in range(150)])
    first = await archival(agent).search("plant", page=0, page_size=5)
    ids: list[str] = []
    for number in range(first.pages):
        page = await archival(agent).search("plant", page=number, page_size=5)
        assert (page.total, page.pages) == (first.total, first.pages), f"page {number}"
        ids += [p.id for p in page.results]
    assert first.total == 150
    assert len(ids) == len(set(ids)) == 150


async def test_a_negative_page_is_the_first(client: AsyncClient) -> None:
    agent = await new_agent(client)
    first = await archival(agent).search("Bob", page=0)
    negative = await archival(agent).search("Bob", page=-3)
    assert [p.id for p in negative.results] == [p.id for p in first.results]


# -- tags --------------------------------------------------------------------------------


@pytest.mark.parametrize("embedding", [None, FakeEmbedding()], ids=["bm25", "hybrid"])
async def test_a_tag_filter_applies_before_the_limit(client: AsyncClient, embedding: Any) -> None:
    better = [f"Cats, cats and more cats: cat fact number {i}." for i in range(30)]
    agent = await new_agent(client, better, embedding=embedding)
    tagged = await archival(agent).insert(
        "Among the many chores of a long week, Bob also fed the neighbour's cats.",
        tags=["chores"],
    )
    untagged = await archival(agent).search("cats", page_size=1)
    assert untagged.results[0].id != tagged.id  # the tagged passage is not the best match
    found = await archival(agent).search("cats", page_size=1, tags=["chores"])
    assert [p.id for p in found.results] == [tagged.id]
    assert (found.total, found.pages) == (1, 1)


async def test_tags_match_any_or_all(client: AsyncClient) -> None:
    agent = await new_agent(client, [])
    memory = archival(agent)
    both = await memory.insert("Miso the cat sleeps on Bob's bed.", tags=["pets", "home"])
    pets = await memory.insert("Tofu the cat chases flies.", tags=["pets"])
    await memory.insert("A stray cat visits the garden.", tags=["garden"])
    await memory.insert("The cat food is in the kitchen.")
    any_found = await memory.search("cat", tags=["home", "PETS"])
    assert {p.id for p in any_found.results} == {both.id, pets.id}
    all_found = await memory.search("cat", tags=["pets", "home"], tag_match="all")
    assert [p.id for p in all_found.results] == [both.id]
    assert (await memory.search("cat", tags=["unknown"])).total == 0
    assert (await memory.search("cat")).total == 4


# -- hybrid search -----------------------------------------------------------------------


async def test_passages_are_embedded_on_insert(client: AsyncClient) -> None:
    embedding = FakeEmbedding()
    agent = await new_agent(client, [], embedding=embedding)
    passage = await archival(agent).insert("Bob loves cats.")
    assert passage.embedded
    assert embedding.calls == 1


@SQLITE_ONLY  # SQLite's float32 blobs (PostgreSQL's vectors: tests/store/test_postgres_search.py)
async def test_vectors_are_stored_as_unit_float32(client: AsyncClient) -> None:
    embedding = FakeEmbedding(dimensions=64)
    agent = await new_agent(client, ["Bob loves cats and dogs."], embedding=embedding)
    (blob,) = client.store.db.execute("SELECT embedding FROM passages").fetchone()
    assert len(blob) == 64 * 4
    stored = array.array("f")
    stored.frombytes(blob)
    (raw,) = await embedding.embed(["Bob loves cats and dogs."])
    norm = math.sqrt(sum(x * x for x in raw))
    assert list(stored) == pytest.approx([x / norm for x in raw], abs=1e-6)
    assert archival(agent).passages()[0].embedded


async def test_without_an_embedding_model_nothing_is_embedded(client: AsyncClient) -> None:
    agent = await new_agent(client, CORPUS[:3])
    assert not any(p.embedded for p in archival(agent).passages())
    (count,) = client.store.db.execute(
        "SELECT COUNT(*) FROM passages WHERE embedding IS NOT NULL"
    ).fetchone()
    assert count == 0


CAT_SITTING = "Bob booked a catsitter for the holidays."


async def test_hybrid_finds_a_passage_only_the_embedding_matches(client: AsyncClient) -> None:
    # porter stems "catsitting" and "catsitter" apart; FakeEmbedding sees "catsi" in both
    plain = await new_agent(client, [*CORPUS, CAT_SITTING])
    assert (await archival(plain).search("catsitting")).total == 0
    hybrid = await new_agent(client, [*CORPUS, CAT_SITTING], embedding=FakeEmbedding())
    found = await archival(hybrid).search("catsitting")
    assert found.results[0].text == CAT_SITTING


# A hashed-words embedding cannot rank a question whose only content word in common with its
# passage is inflected ("love"/"loves", "play"/"plays"), and fusion gives it an equal vote:
# those questions are left to the BM25 test.
HYBRID_QUESTIONS = [q for q in QUESTIONS if q[0].split()[-1] not in {"love", "play"}]


@pytest.mark.parametrize(("query", "expected"), HYBRID_QUESTIONS)
async def test_hybrid_keeps_the_right_passage_first(
    database: str, query: str, expected: str
) -> None:
    client = AsyncClient(database, model=ScriptedModel(), embedding=FakeEmbedding())
    try:
        agent = await client.agents.create(embedding="openai/text-embedding-3-small")
        for text in CORPUS:
            await archival(agent).insert(text)
        assert archival(agent).embedder is client.embedding
        found = await archival(agent).search(query)
        assert expected in found.results[0].text
    finally:
        client.close()


class TableEmbedding:
    """Vectors chosen by hand, per text (anything else is the zero vector)."""

    name = "table"

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self.table.get(t, [0.0, 0.0, 0.0]) for t in texts]


async def test_hybrid_fuses_both_rankings_by_reciprocal_rank(client: AsyncClient) -> None:
    many, sitter, kitten = "cats cats cats", "a sitter for my cats", "someone to feed the kitten"
    embedding = TableEmbedding(
        {
            many: [0.0, 0.0, 1.0],
            sitter: [1.0, 0.0, 0.0],
            kitten: [0.9, 0.1, 0.0],
            "cats": [1.0, 0.0, 0.0],
        }
    )
    plain = await new_agent(client, [many, sitter, kitten])
    assert [p.text for p in (await archival(plain).search("cats")).results] == [many, sitter]
    hybrid = await new_agent(client, [many, sitter, kitten], embedding=embedding)
    found = await archival(hybrid).search("cats")
    # BM25: many, sitter. Cosine: sitter, kitten, many. Fused (1 / (60 + rank)):
    # sitter 1/62 + 1/61 > many 1/61 + 1/63 > kitten 1/62.
    assert [p.text for p in found.results] == [sitter, many, kitten]
    assert found.total == 3


async def ranking(client: AsyncClient, query: str) -> list[str]:
    agent = await new_agent(client, [*CORPUS, CAT_SITTING], embedding=FakeEmbedding())
    found = await archival(agent).search(query, page_size=len(CORPUS) + 1)
    return [p.text for p in found.results]


@SQLITE_ONLY  # numpy serves SQLite's in-process vector index; PostgreSQL ranks in the database
@pytest.mark.parametrize("query", ["catsitting", "which pets does Bob love", "Sunday"])
async def test_hybrid_ranks_the_same_without_numpy(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    assert vectors._numpy() is not None
    with_numpy = await ranking(client, query)
    monkeypatch.setattr(vectors, "_numpy", lambda: None)
    without_numpy = await ranking(client, query)
    assert without_numpy[0] == with_numpy[0]
    assert without_numpy == with_numpy


def test_vector_ties_rank_the_same_with_and_without_numpy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # equal similarity: the older passage (lower seq) first, as BM25 ties are broken
    index = vectors.VectorIndex(
        (seq, vectors.to_blob([1.0, 0.0] if seq % 2 else [0.0, 1.0])) for seq in range(1, 40)
    )
    expected = [*range(1, 40, 2), *range(2, 40, 2)]
    assert index.top([1.0, 0.0], 39) == expected
    monkeypatch.setattr(vectors, "_numpy", lambda: None)
    assert index.top([1.0, 0.0], 39) == expected


async def test_inserts_after_a_search_are_found_by_meaning(client: AsyncClient) -> None:
    agent = await new_agent(client, CORPUS, embedding=FakeEmbedding())
    await archival(agent).search("Bob")  # loads the vector index
    await archival(agent).insert(CAT_SITTING)
    assert (await archival(agent).search("catsitting")).results[0].text == CAT_SITTING


async def test_hybrid_search_after_reopening_uses_the_stored_vectors(database: str) -> None:
    first = AsyncClient(database, model=ScriptedModel(), embedding=FakeEmbedding())
    try:
        agent = await first.agents.create(embedding="openai/text-embedding-3-small")
        for text in [*CORPUS, CAT_SITTING]:
            await archival(agent).insert(text)
    finally:
        first.close()
    embedding = FakeEmbedding()
    second = AsyncClient(database, model=ScriptedModel(), embedding=embedding)
    try:
        reopened = await second.agents.retrieve(agent.id)
        found = await archival(reopened).search("catsitting")
        assert found.results[0].text == CAT_SITTING
        assert embedding.calls == 1  # only the query: passages were not embedded again
    finally:
        second.close()


# -- embedding failures ------------------------------------------------------------------


async def test_a_failing_embedding_loses_no_passage(client: AsyncClient) -> None:
    broken = FailingEmbedding()
    agent = await new_agent(client, [], embedding=broken)
    passage = await archival(agent).insert("Bob loves cats.")
    assert passage.embedded is False
    assert broken.calls == 1
    assert [p.text for p in archival(agent).passages()] == ["Bob loves cats."]
    found = await archival(agent).search("which cats does Bob love")
    assert [p.id for p in found.results] == [passage.id]
    assert found.total == 1


async def test_a_failing_embedding_falls_back_to_bm25(client: AsyncClient) -> None:
    agent = await new_agent(client, CORPUS, embedding=FailingEmbedding())
    plain = await new_agent(client, CORPUS)
    for query, expected in QUESTIONS:
        found = await archival(agent).search(query)
        baseline = await archival(plain).search(query)
        assert expected in found.results[0].text
        assert [p.text for p in found.results] == [p.text for p in baseline.results]
        assert found.total == baseline.total


async def test_passages_whose_embedding_failed_are_still_found_in_hybrid(
    client: AsyncClient,
) -> None:
    class Flaky(FakeEmbedding):
        fail = True

        async def embed(self, texts: list[str]) -> list[list[float]]:
            if self.fail:
                raise RuntimeError("timeout")
            return await super().embed(texts)

    embedding = Flaky()
    agent = await new_agent(client, ["Bob is allergic to peanuts."], embedding=embedding)
    embedding.fail = False
    await archival(agent).insert("Bob loves cats.")
    kinds = {p.text: p.embedded for p in archival(agent).passages()}
    assert kinds == {"Bob is allergic to peanuts.": False, "Bob loves cats.": True}
    found = await archival(agent).search("peanuts")
    assert found.results[0].text == "Bob is allergic to peanuts."


# -- client.agents.passages --------------------------------------------------------------


async def test_passages_create_list_and_delete(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    client = make_async_client(database, model=ScriptedModel())
    agent = await client.agents.create()
    created = [await client.agents.passages.create(agent_id=agent.id, text=text) for text in CORPUS]
    assert not any(p.duplicate for p in created)
    listed = await client.agents.passages.list(agent_id=agent.id)
    assert [p.id for p in listed] == [p.id for p in created]  # oldest first
    newest = await client.agents.passages.list(agent_id=agent.id, limit=3)
    assert [p.id for p in newest] == [p.id for p in created[-3:]]
    best = await client.agents.passages.list(agent_id=agent.id, query="allergic", limit=2)
    assert [p.text for p in best] == [CORPUS[1]]
    await client.agents.passages.delete(agent_id=agent.id, passage_id=created[1].id)
    assert await client.agents.passages.list(agent_id=agent.id, query="allergic") == []
    assert len(await client.agents.passages.list(agent_id=agent.id)) == len(CORPUS) - 1


async def test_passages_create_with_tags_and_duplicates(
    make_async_client: MakeAsyncClient, database: str
) -> None:
    client = make_async_client(database, model=ScriptedModel())
    agent = await client.agents.create()
    first = await client.agents.passages.create(agent_id=agent.id, text="x y", tags=["a"])
    again = await client.agents.passages.create(agent_id=agent.id, text="x y")
    assert (first.tags, first.duplicate) == (["a"], False)
    assert (again.id, again.duplicate) == (first.id, True)


async def test_a_deleted_passage_is_not_found_by_hybrid_search(client: AsyncClient) -> None:
    agent = await new_agent(client, [*CORPUS, CAT_SITTING], embedding=FakeEmbedding())
    found = await archival(agent).search("catsitting")
    assert found.results[0].text == CAT_SITTING
    await client.agents.passages.delete(agent_id=agent.id, passage_id=found.results[0].id)
    again = await archival(agent).search("catsitting", page_size=100)
    assert CAT_SITTING not in [p.text for p in again.results]
    assert again.total == len(CORPUS)


async def test_deleting_an_unknown_passage_raises(client: AsyncClient) -> None:
    agent = await new_agent(client, ["Bob loves cats."])
    other = await new_agent(client, ["Eve loves dogs."])
    with pytest.raises(NotFoundError, match="passage-nope"):
        await client.agents.passages.delete(agent_id=agent.id, passage_id="passage-nope")
    (eves,) = archival(other).passages()
    with pytest.raises(NotFoundError, match=eves.id):
        await client.agents.passages.delete(agent_id=agent.id, passage_id=eves.id)
    assert archival(other).count() == 1


async def test_passages_of_an_unknown_agent_raise(client: AsyncClient) -> None:
    with pytest.raises(NotFoundError, match="agent-nope"):
        await client.agents.passages.list(agent_id="agent-nope")
