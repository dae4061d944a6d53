"""Embedding models: ``OpenAIEmbedding`` against a fake server, and ``FakeEmbedding``."""

import json
import math
from typing import Any

import httpx2
import pytest

from agent import AsyncClient, ModelError
from agent._embedding import EmbeddingModel, OpenAIEmbedding, resolve_embedding
from agent.testing import FakeEmbedding, RealModelCallBlocked, ScriptedModel


def vector_for(text: str) -> list[float]:
    """A vector the fake server gives ``text``: recognisable, and distinct per text."""
    return [float(len(text)), float(ord(text[0])), 0.5]


class FakeServer:
    """A fake ``/embeddings`` endpoint that answers with its data in reverse index order."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx2.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.status != 200:
            error = {"message": "invalid model", "type": "invalid_request_error"}
            return httpx2.Response(self.status, json={"error": error})
        body = json.loads(request.content)
        data = [
            {"object": "embedding", "index": i, "embedding": vector_for(text)}
            for i, text in enumerate(body["input"])
        ]
        return httpx2.Response(
            200,
            json={
                "object": "list",
                "data": data[::-1],  # out of order on purpose: the index decides
                "model": body["model"],
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            },
        )

    def http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))


async def test_openai_embedding_request_and_order() -> None:
    server = FakeServer()
    async with server.http_client() as http:
        model = OpenAIEmbedding("openai/text-embedding-3-small", api_key="test", http_client=http)
        vectors = await model.embed(["alpha", "be", "gamma ray"])
    assert vectors == [vector_for("alpha"), vector_for("be"), vector_for("gamma ray")]
    (request,) = server.requests
    assert request.method == "POST"
    assert request.url.path.endswith("/embeddings")
    assert request.headers["authorization"] == "Bearer test"
    body = server.bodies[0]
    assert body["model"] == "text-embedding-3-small"
    assert body["input"] == ["alpha", "be", "gamma ray"]


async def test_openai_embedding_batches_in_order() -> None:
    server = FakeServer()
    texts = ["one", "two", "three", "four", "five"]
    async with server.http_client() as http:
        model = OpenAIEmbedding(
            "text-embedding-3-small", api_key="test", http_client=http, batch_size=2
        )
        vectors = await model.embed(texts)
    assert [b["input"] for b in server.bodies] == [["one", "two"], ["three", "four"], ["five"]]
    assert vectors == [vector_for(t) for t in texts]


async def test_openai_embedding_uses_the_base_url() -> None:
    server = FakeServer()
    async with server.http_client() as http:
        model = OpenAIEmbedding(
            "openai/nomic-embed-text", base_url="http://localhost:11434/v1", http_client=http
        )
        await model.embed(["x"])
    assert str(server.requests[0].url) == "http://localhost:11434/v1/embeddings"
    assert server.bodies[0]["model"] == "nomic-embed-text"


async def test_openai_embedding_of_nothing_sends_nothing() -> None:
    server = FakeServer()
    async with server.http_client() as http:
        model = OpenAIEmbedding("text-embedding-3-small", api_key="test", http_client=http)
        assert await model.embed([]) == []
    assert server.requests == []


async def test_an_api_error_is_a_model_error() -> None:
    server = FakeServer(status=400)
    async with server.http_client() as http:
        model = OpenAIEmbedding("openai/no-such-model", api_key="test", http_client=http)
        with pytest.raises(ModelError, match="openai/no-such-model") as info:
            await model.embed(["x"])
    assert "invalid model" in str(info.value)


async def test_no_api_key_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    model = OpenAIEmbedding("openai/text-embedding-3-small")
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        await model.embed(["x"])


async def test_a_real_embedding_call_is_blocked_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = OpenAIEmbedding("openai/text-embedding-3-small")
    with pytest.raises(RealModelCallBlocked):
        await model.embed(["x"])
    await model.client.close()


async def test_archival_insert_does_not_swallow_a_blocked_real_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    client = AsyncClient(":memory:", model=ScriptedModel())
    try:
        agent = await client.agents.create(embedding="openai/text-embedding-3-small")
        assert agent.archival is not None
        with pytest.raises(RealModelCallBlocked):
            await agent.archival.insert("Bob loves cats.")
        await agent.archival.embedder.client.close()  # type: ignore[union-attr]
    finally:
        client.close()


async def test_the_adapter_inside_archival_memory() -> None:
    server = FakeServer()
    async with server.http_client() as http:
        embedding = OpenAIEmbedding("openai/text-embedding-3-small", api_key="t", http_client=http)
        client = AsyncClient(":memory:", model=ScriptedModel(), embedding=embedding)
        try:
            agent = await client.agents.create(embedding="openai/text-embedding-3-small")
            assert agent.archival is not None
            passage = await agent.archival.insert("Bob loves cats.")
            assert passage.embedded
            found = await agent.archival.search("cats")
            assert [p.id for p in found.results] == [passage.id]
        finally:
            client.close()
    assert [b["input"] for b in server.bodies] == [["Bob loves cats."], ["cats"]]


def test_resolve_embedding() -> None:
    model = resolve_embedding("openai/text-embedding-3-small")
    assert isinstance(model, OpenAIEmbedding)
    assert (model.name, model.model) == ("openai/text-embedding-3-small", "text-embedding-3-small")
    assert isinstance(model, EmbeddingModel)


def test_an_unknown_embedding_provider_is_refused() -> None:
    with pytest.raises(ModelError, match="'cohere/embed-v3'"):
        resolve_embedding("cohere/embed-v3")


# -- FakeEmbedding -----------------------------------------------------------------------


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def test_fake_embedding_is_deterministic_and_counts_calls() -> None:
    fake = FakeEmbedding(dimensions=32)
    first = await fake.embed(["Bob loves cats", "tea"])
    again = await FakeEmbedding(dimensions=32).embed(["Bob loves cats", "tea"])
    assert first == again
    assert [len(v) for v in first] == [32, 32]
    assert fake.calls == 1
    assert isinstance(fake, EmbeddingModel)


async def test_fake_embedding_shared_words_are_similar() -> None:
    fake = FakeEmbedding()
    cats, same, other = await fake.embed(
        ["Bob loves his cats", "his cats, Bob loves", "quantum chromodynamics lecture"]
    )
    assert cosine(cats, same) == pytest.approx(1.0)
    assert abs(cosine(cats, other)) < 0.5


async def test_fake_embedding_stems_as_documented() -> None:
    # the docstring: "cats" and "cat", "loves" and "love" land together
    fake = FakeEmbedding()
    cats, cat, loves, love = await fake.embed(["cats", "cat", "loves", "love"])
    assert cosine(cats, cat) == pytest.approx(1.0)
    assert cosine(loves, love) == pytest.approx(1.0)
