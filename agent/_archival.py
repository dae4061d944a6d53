"""Archival memory: passages an agent saves and searches, with a full-text index.

Search is full text (BM25) alone, or, with an embedding model, hybrid: full text and cosine
similarity fused by reciprocal rank (the store does both: ``search_passages``). Tag filters
apply inside the query, before any limit. An exact duplicate of a stored passage is not stored
twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from agent._embedding import EmbeddingModel
from agent._errors import NotFoundError, RealModelCallBlocked
from agent._ids import new_id
from agent._unit import StepWrites, current_step
from agent.store import PassageSearch, Store, TagMatch

__all__ = ["ArchivalMemory", "Passage", "SearchPage"]

logger = logging.getLogger("selfedit.archival")


class Passage(BaseModel):
    """One saved piece of archival memory."""

    id: str
    """The passage's id."""
    text: str
    """The text."""
    tags: list[str] = Field(default_factory=list)
    """Labels to filter by."""
    created_at: datetime
    """When it was saved (UTC)."""
    duplicate: bool = False
    """On insert: True if this text was already stored (nothing new was saved)."""
    embedded: bool = False
    """Whether the passage has a vector (hybrid search can find it by meaning)."""


class SearchPage(BaseModel):
    """One page of search results."""

    results: list[Passage]
    """The passages on this page, best first."""
    total: int
    """How many passages matched in all."""
    page: int
    """This page's number, from 0."""
    pages: int
    """How many pages there are."""

    def summary(self) -> str:
        """``page X of Y, N results``, for the model."""
        return f"page {self.page + 1} of {max(self.pages, 1)}, {self.total} results"


def _hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def _tags(tags: Iterable[str] | None) -> list[str]:
    return sorted({t.strip().lower() for t in tags or () if t.strip()})


def _passage(row: Any) -> Passage:
    return Passage(
        id=row["id"],
        text=row["text"],
        tags=json.loads(row["tags"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        embedded=bool(row["embedded"]),
    )


class ArchivalMemory:
    """One agent's archival memory; tools reach it as ``agent_state.archival``."""

    def __init__(self, store: Store, agent_id: str, embedder: EmbeddingModel | None = None) -> None:
        self._store = store
        self._agent_id = agent_id
        self.embedder = embedder
        """The embedding model, or ``None`` for BM25 alone."""

    # -- writing -------------------------------------------------------------------------

    async def insert(self, text: str, tags: Iterable[str] | None = None) -> Passage:
        """Save ``text``; an exact duplicate is not stored again (``duplicate=True``)."""
        return (await self.insert_many([text], tags))[0]

    async def insert_many(
        self, texts: list[str], tags: Iterable[str] | None = None
    ) -> list[Passage]:
        """Save several texts at once (one embedding request, one transaction).

        Called by a tool during a step, the passages are written by the step's commit: if the
        step fails, they were never saved.
        """
        tag_list = _tags(tags)
        vectors = await self._embed(list(texts))
        step = current_step()
        if step is not None:
            return [self._stage(step, t, tag_list, v) for t, v in zip(texts, vectors, strict=True)]
        with self._store.transaction():
            return [
                self._insert_one(text, tag_list, vector)
                for text, vector in zip(texts, vectors, strict=True)
            ]

    def _stage(
        self, step: StepWrites, text: str, tags: list[str], vector: list[float] | None
    ) -> Passage:
        """Check for a duplicate now; write at the step's commit."""
        digest = _hash(text)
        pending = step.pending.setdefault(f"passages:{self._agent_id}", set())
        stored = self._store.passage_by_hash(self._agent_id, digest)
        if stored is not None or digest in pending:
            step.writes.append(lambda: self._write(text, tags, vector, None))
            found = _passage(stored) if stored is not None else None
            now = datetime.now(timezone.utc)
            return (found or Passage(id="", text=text, tags=tags, created_at=now)).model_copy(
                update={"duplicate": True}
            )
        pending.add(digest)
        passage = Passage(
            id=new_id("passage"),
            text=text,
            tags=tags,
            created_at=datetime.now(timezone.utc),
            embedded=vector is not None,
        )
        step.writes.append(lambda: self._write(text, tags, vector, passage))
        return passage

    def _write(
        self, text: str, tags: list[str], vector: list[float] | None, new: Passage | None
    ) -> None:
        self._insert_one(text, tags, vector, new)

    def _insert_one(
        self, text: str, tags: list[str], vector: list[float] | None, new: Passage | None = None
    ) -> Passage:
        """Insert (or, for an exact duplicate, add the new tags)."""
        store, digest = self._store, _hash(text)
        row = store.passage_by_hash(self._agent_id, digest)
        if row is not None:
            had = json.loads(row["tags"])
            if added := [t for t in tags if t not in had]:
                store.set_passage_tags(row["seq"], sorted({*had, *added}), added)
            return _passage(store.passage(row["seq"])).model_copy(update={"duplicate": True})
        created = new.created_at if new else datetime.now(timezone.utc)
        seq = store.insert_passage(
            self._agent_id,
            new.id if new else new_id("passage"),
            text,
            digest,
            tags,
            created.isoformat(),
            vector,
        )
        return _passage(store.passage(seq))

    def delete(self, passage_id: str) -> None:
        """Delete one passage.

        Raises:
            NotFoundError: this agent has no passage with that id.
        """
        if self._store.delete_passage(self._agent_id, passage_id) is None:
            raise NotFoundError(f"no passage {passage_id!r} in this agent's archival memory")

    # -- reading -------------------------------------------------------------------------

    def passages(self, limit: int | None = None) -> list[Passage]:
        """Passages, oldest first (the newest ``limit``)."""
        return [_passage(r) for r in self._store.passages(self._agent_id, limit)]

    def count(self) -> int:
        """How many passages there are."""
        return self._store.count_passages(self._agent_id)

    async def search(
        self,
        query: str,
        page: int = 0,
        page_size: int = 5,
        tags: Iterable[str] | None = None,
        tag_match: TagMatch = "any",
    ) -> SearchPage:
        """Passages matching ``query``, best first, one page at a time.

        Without an embedding model: BM25 over the words of ``query``. With one: the BM25
        matches (up to ``LEXICAL_CANDIDATES``) and the ``SEMANTIC_CANDIDATES`` nearest by cosine
        similarity, fused by reciprocal rank (semantic search always has neighbours, so an
        embedded archive never answers "no match"). ``tags`` keeps passages with any (or
        ``tag_match="all"``: all) of the tags, before ranking and paging.
        """
        page, page_size = max(page, 0), max(page_size, 1)
        vector = (await self._embed([query]))[0] if self.embedder is not None else None
        search = PassageSearch(
            self._agent_id, query, vector, _tags(tags), tag_match, page, page_size
        )
        rows, total = await self._store.asearch_passages(search)
        return SearchPage(
            results=[_passage(r) for r in rows],
            total=total,
            page=page,
            pages=math.ceil(total / page_size),
        )

    async def _embed(self, texts: list[str]) -> list[list[float] | None]:
        """Vectors for ``texts``; if embedding fails, ``None`` each (BM25 still works)."""
        if self.embedder is None or not texts:
            return [None] * len(texts)
        try:
            return list(await self.embedder.embed(texts))
        except RealModelCallBlocked:
            raise
        except Exception as e:  # the embedding boundary: search degrades to BM25, loses nothing
            logger.warning("embedding with %r failed: %s", self.embedder.name, e)
            return [None] * len(texts)
