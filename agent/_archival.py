"""Archival memory: passages an agent saves and searches, in SQLite with a BM25 index.

Search is BM25 (FTS5) alone, or, with an embedding model, hybrid: BM25 and cosine similarity
fused by reciprocal rank. Tag filters apply inside the query, before any limit. An exact
duplicate of a stored passage is not stored twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from agent._embedding import EmbeddingModel
from agent._errors import NotFoundError, RealModelCallBlocked
from agent._ids import new_id
from agent._store import Store
from agent._unit import StepWrites, current_step
from agent._vectors import VectorIndex, to_blob

__all__ = ["ArchivalMemory", "Passage", "SearchPage", "fts_query"]

logger = logging.getLogger("selfedit.archival")
RRF_K = 60
"""The constant of reciprocal-rank fusion: score = sum of 1 / (RRF_K + rank)."""
LEXICAL_CANDIDATES = 1000
"""How many of the best BM25 matches a hybrid search fuses (every match, in most archives)."""
SEMANTIC_CANDIDATES = 100
"""How many nearest neighbours by cosine a hybrid search fuses. The fused set is the same on
every page, so paging covers each result exactly once."""

TagMatch = Literal["any", "all"]


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


def fts_query(text: str) -> str | None:
    """A safe FTS5 query from free text: each word quoted, any word may match (BM25 ranks)."""
    words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) or None


def _hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def _tags(tags: Iterable[str] | None) -> list[str]:
    return sorted({t.strip().lower() for t in tags or () if t.strip()})


def _passage(row: sqlite3.Row) -> Passage:
    return Passage(
        id=row["id"],
        text=row["text"],
        tags=json.loads(row["tags"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        embedded=row["embedding"] is not None,
    )


class ArchivalMemory:
    """One agent's archival memory; tools reach it as ``agent_state.archival``."""

    def __init__(self, store: Store, agent_id: str, embedder: EmbeddingModel | None = None) -> None:
        self._store = store
        self._agent_id = agent_id
        self.embedder = embedder
        """The embedding model, or ``None`` for BM25 alone."""
        self._index: VectorIndex | None = None
        self._seen = (0, 0)  # (largest seq, count) of the embedded passages the index holds

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
        stored = self._store.db.execute(
            "SELECT * FROM passages WHERE agent_id = ? AND text_hash = ?", (self._agent_id, digest)
        ).fetchone()
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
        """Insert (or, for an exact duplicate, add the new tags).

        The vector index catches up at its next search (``_vectors``).
        """
        db, digest = self._store.db, _hash(text)
        row = db.execute(
            "SELECT * FROM passages WHERE agent_id = ? AND text_hash = ?", (self._agent_id, digest)
        ).fetchone()
        if row is not None:
            self._add_tags(row["seq"], [t for t in tags if t not in json.loads(row["tags"])])
            found = db.execute("SELECT * FROM passages WHERE seq = ?", (row["seq"],)).fetchone()
            return _passage(found).model_copy(update={"duplicate": True})
        blob = to_blob(vector) if vector is not None else None
        created = new.created_at if new else datetime.now(timezone.utc)
        cursor = db.execute(
            "INSERT INTO passages (id, agent_id, text, text_hash, tags, created_at, embedding) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                new.id if new else new_id("passage"),
                self._agent_id,
                text,
                digest,
                json.dumps(tags),
                created.isoformat(),
                blob,
            ),
        )
        seq = int(cursor.lastrowid or 0)
        db.executemany("INSERT INTO passage_tags VALUES (?, ?)", [(seq, t) for t in tags])
        return _passage(db.execute("SELECT * FROM passages WHERE seq = ?", (seq,)).fetchone())

    def _add_tags(self, seq: int, new: list[str]) -> None:
        if not new:
            return
        db = self._store.db
        row = db.execute("SELECT tags FROM passages WHERE seq = ?", (seq,)).fetchone()
        merged = sorted({*json.loads(row["tags"]), *new})
        db.execute("UPDATE passages SET tags = ? WHERE seq = ?", (json.dumps(merged), seq))
        db.executemany("INSERT OR IGNORE INTO passage_tags VALUES (?, ?)", [(seq, t) for t in new])

    def delete(self, passage_id: str) -> None:
        """Delete one passage.

        Raises:
            NotFoundError: this agent has no passage with that id.
        """
        db = self._store.db
        row = db.execute(
            "SELECT seq, embedding IS NOT NULL AS embedded FROM passages "
            "WHERE id = ? AND agent_id = ?",
            (passage_id, self._agent_id),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no passage {passage_id!r} in this agent's archival memory")
        with self._store.transaction():
            db.execute("DELETE FROM passages WHERE seq = ?", (row["seq"],))
        if self._index is not None and row["embedded"]:
            self._index.remove(row["seq"])
            self._seen = (self._seen[0], self._seen[1] - 1)

    # -- reading -------------------------------------------------------------------------

    def passages(self, limit: int | None = None) -> list[Passage]:
        """Passages, oldest first (the newest ``limit``)."""
        rows = self._store.db.execute(
            "SELECT * FROM passages WHERE agent_id = ? ORDER BY seq DESC LIMIT ?",
            (self._agent_id, -1 if limit is None else limit),
        ).fetchall()
        return [_passage(r) for r in reversed(rows)]

    def count(self) -> int:
        """How many passages there are."""
        row = self._store.db.execute(
            "SELECT COUNT(*) FROM passages WHERE agent_id = ?", (self._agent_id,)
        ).fetchone()
        return int(row[0])

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
        tag_list = _tags(tags)
        vector = (await self._embed([query]))[0] if self.embedder is not None else None
        if vector is None:
            return self._bm25_page(query, page, page_size, tag_list, tag_match)
        lexical = self._bm25(query, tag_list, tag_match, LEXICAL_CANDIDATES, 0)
        allowed = self._tagged(tag_list, tag_match) if tag_list else None
        semantic = self._vectors().top(vector, SEMANTIC_CANDIDATES, allowed)
        fused: dict[int, float] = {}
        for ranking in (lexical, semantic):
            for rank, seq in enumerate(ranking):
                fused[seq] = fused.get(seq, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda seq: -fused[seq])
        chosen = order[page * page_size : (page + 1) * page_size]
        return SearchPage(
            results=self._by_seq(chosen),
            total=len(order),
            page=page,
            pages=math.ceil(len(order) / page_size),
        )

    # -- internals -----------------------------------------------------------------------

    def _filter(self, tags: list[str], match: TagMatch) -> tuple[str, list[object]]:
        if not tags:
            return "", []
        marks = ", ".join("?" * len(tags))
        having = f" HAVING COUNT(*) = {len(tags)}" if match == "all" else ""
        sql = (
            f" AND p.seq IN (SELECT passage_seq FROM passage_tags WHERE tag IN ({marks})"
            f" GROUP BY passage_seq{having})"
        )
        return sql, list(tags)

    def _bm25(
        self, query: str, tags: list[str], match: TagMatch, limit: int, offset: int
    ) -> list[int]:
        fts = fts_query(query)
        if fts is None:
            return []
        where, params = self._filter(tags, match)
        rows = self._store.db.execute(
            # CROSS JOIN keeps the index search outermost: match first, then filter
            "SELECT p.seq FROM passages_fts CROSS JOIN passages p ON p.seq = passages_fts.rowid "
            f"WHERE passages_fts MATCH ? AND p.agent_id = ?{where} "
            "ORDER BY bm25(passages_fts), p.seq LIMIT ? OFFSET ?",
            [fts, self._agent_id, *params, limit, offset],
        ).fetchall()
        return [r[0] for r in rows]

    def _bm25_page(
        self, query: str, page: int, size: int, tags: list[str], match: TagMatch
    ) -> SearchPage:
        fts = fts_query(query)
        total = 0
        if fts is not None:
            where, params = self._filter(tags, match)
            total = self._store.db.execute(
                "SELECT COUNT(*) FROM passages_fts CROSS JOIN passages p "
                "ON p.seq = passages_fts.rowid "
                f"WHERE passages_fts MATCH ? AND p.agent_id = ?{where}",
                [fts, self._agent_id, *params],
            ).fetchone()[0]
        seqs = self._bm25(query, tags, match, size, page * size)
        return SearchPage(
            results=self._by_seq(seqs), total=total, page=page, pages=math.ceil(total / size)
        )

    def _tagged(self, tags: list[str], match: TagMatch) -> set[int]:
        where, params = self._filter(tags, match)
        rows = self._store.db.execute(
            f"SELECT p.seq FROM passages p WHERE p.agent_id = ?{where}", [self._agent_id, *params]
        ).fetchall()
        return {r[0] for r in rows}

    def _by_seq(self, seqs: list[int]) -> list[Passage]:
        if not seqs:
            return []
        marks = ", ".join("?" * len(seqs))
        rows = self._store.db.execute(f"SELECT * FROM passages WHERE seq IN ({marks})", seqs)
        found = {r["seq"]: _passage(r) for r in rows}
        return [found[s] for s in seqs if s in found]

    def _vector_state(self) -> tuple[int, int]:
        row = self._store.db.execute(
            "SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM passages "
            "WHERE agent_id = ? AND embedding IS NOT NULL",
            (self._agent_id,),
        ).fetchone()
        return int(row[0]), int(row[1])

    def _vectors(self) -> VectorIndex:
        """The vector index, brought up to date with other clients' inserts and deletes."""
        state = self._vector_state()
        if self._index is not None and state == self._seen:
            return self._index
        last, count = self._seen
        rows = self._store.db.execute(
            "SELECT seq, embedding FROM passages WHERE agent_id = ? AND embedding IS NOT NULL "
            "AND seq > ? ORDER BY seq",
            (self._agent_id, last if self._index is not None else 0),
        ).fetchall()
        if self._index is not None and count + len(rows) == state[1]:
            for seq, blob in rows:  # only appended since: add them
                self._index.add(seq, blob)
        elif self._index is not None:  # something was deleted elsewhere: start over
            self._index = None
            return self._vectors()
        else:
            self._index = VectorIndex((r[0], r[1]) for r in rows)
        self._seen = state
        return self._index

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
