"""Embedding models: text to vectors, for hybrid archival search."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import openai

from agent._errors import ModelError
from agent._openai import connect

__all__ = ["EmbeddingModel", "OpenAIEmbedding", "resolve_embedding"]

_PREFIX = "openai/"


@runtime_checkable
class EmbeddingModel(Protocol):
    """Anything that turns texts into vectors of one fixed size."""

    name: str
    """A name for storage (``"openai/text-embedding-3-small"``)."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


class OpenAIEmbedding:
    """Embeddings over ``openai.AsyncOpenAI`` (OpenAI, or any compatible server).

    ``base_url`` and ``api_key`` come from the arguments or ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``, read at the first request.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        http_client: Any = None,  # an httpx(2) AsyncClient, as the openai client takes
        batch_size: int = 512,
    ) -> None:
        self.model = model.removeprefix(_PREFIX)
        self.name = f"{_PREFIX}{self.model}"
        self._base_url, self._api_key, self._http_client = base_url, api_key, http_client
        self._batch = batch_size
        self._client: openai.AsyncOpenAI | None = None

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The ``openai`` client, made on first use."""
        if self._client is None:
            self._client = connect(self.name, self._base_url, self._api_key, self._http_client)
        return self._client

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts`` in batches; an API failure is a ``ModelError``."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            batch = texts[start : start + self._batch]
            try:
                reply = await self.client.embeddings.create(model=self.model, input=batch)
            except openai.APIError as e:
                raise ModelError(f"{self.name}: {type(e).__name__}: {e.message}") from e
            vectors += [d.embedding for d in sorted(reply.data, key=lambda d: d.index)]
        return vectors


def resolve_embedding(name: str) -> OpenAIEmbedding:
    """An embedding model from its string, ``"openai/<name>"``.

    Raises:
        ModelError: the provider is not one selfedit knows.
    """
    if not name.startswith(_PREFIX) or not name.removeprefix(_PREFIX).strip():
        raise ModelError(
            f"unknown embedding model {name!r}: use 'openai/<name>' "
            "(e.g. 'openai/text-embedding-3-small')"
        )
    return OpenAIEmbedding(name)
