"""Archival passages' rows: written, tagged, listed and deleted (a mixin of ``Store``).

The parts both backends share. Each backend adds its own search (``search_passages``): BM25 in
SQLite's FTS5 with an in-process vector index, or PostgreSQL full text with pgvector, fused by
reciprocal rank inside one query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from agent.store._statements import Connection

__all__ = [
    "LEXICAL_CANDIDATES",
    "PASSAGE_COLUMNS",
    "RRF_K",
    "SEMANTIC_CANDIDATES",
    "PassageRows",
    "PassageSearch",
    "TagMatch",
    "query_words",
    "tag_filter",
]

RRF_K = 60
"""The constant of reciprocal-rank fusion: score = sum of 1 / (RRF_K + rank)."""
LEXICAL_CANDIDATES = 1000
"""How many of the best full-text matches a hybrid search fuses (every match, in most archives)."""
SEMANTIC_CANDIDATES = 100
"""How many nearest neighbours by cosine a hybrid search fuses. The fused set is the same on
every page, so paging covers each result exactly once."""
PASSAGE_COLUMNS = "seq, id, text, tags, created_at, embedding IS NOT NULL AS embedded"
"""What a passage is read back as, on either backend."""

TagMatch = Literal["any", "all"]
Row = Any


@dataclass(frozen=True)
class PassageSearch:
    """One page of an archival search, as the store runs it."""

    agent_id: str
    query: str
    """The words to match (any of them may)."""
    vector: Sequence[float] | None
    """The query's embedding: a hybrid search with one, full text alone without."""
    tags: list[str]
    match: TagMatch
    """Whether a passage needs any of ``tags`` or all of them (no tags: every passage)."""
    page: int
    size: int


def query_words(text: str) -> list[str]:
    """The distinct words of a search, lowercased, in order (any of them may match)."""
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


def tag_filter(tags: Sequence[str], match: TagMatch, seq: str = "p.seq") -> tuple[str, list[Any]]:
    """A condition keeping passages with any (or all) of ``tags``, and its parameters."""
    if not tags:
        return "", []
    marks = ", ".join("?" * len(tags))
    having = f" HAVING COUNT(*) = {len(tags)}" if match == "all" else ""
    sql = (
        f" AND {seq} IN (SELECT passage_seq FROM passage_tags WHERE tag IN ({marks})"
        f" GROUP BY passage_seq{having})"
    )
    return sql, list(tags)


class PassageRows:
    """The ``passages`` and ``passage_tags`` tables."""

    db: Connection
    transaction: Callable[[], AbstractContextManager[None]]
    vector_columns = ", embedding"
    """The columns a passage's vector is written to."""
    vector_marks = ", ?"
    """Their placeholders."""

    def _vector_values(self, vector: Sequence[float] | None) -> tuple[Any, ...]:
        """A vector as the backend stores it (``None``: no vector)."""
        raise NotImplementedError

    def read_vector(self, stored: Any) -> list[float] | None:
        """A vector as read back from the ``embedding`` column (``None``: no vector)."""
        raise NotImplementedError

    def passage_by_hash(self, agent_id: str, digest: str) -> Row | None:
        """The agent's passage with this text hash, or ``None``."""
        return self.db.execute(
            f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE agent_id = ? AND text_hash = ?",
            (agent_id, digest),
        ).fetchone()

    def passage(self, seq: int) -> Row | None:
        """One passage by seq."""
        return self.db.execute(
            f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE seq = ?", (seq,)
        ).fetchone()

    def insert_passage(
        self,
        agent_id: str,
        passage_id: str,
        text: str,
        digest: str,
        tags: list[str],
        created_at: str,
        vector: Sequence[float] | None,
    ) -> int:
        """Insert a passage and its tags; its seq."""
        row = self.db.execute(
            "INSERT INTO passages (id, agent_id, text, text_hash, tags, created_at"
            f"{self.vector_columns}) VALUES (?, ?, ?, ?, ?, ?{self.vector_marks}) RETURNING seq",
            (passage_id, agent_id, text, digest, json.dumps(tags), created_at,
             *self._vector_values(vector)),
        ).fetchone()  # fmt: skip
        seq = int(row[0])
        if tags:
            self.db.executemany("INSERT INTO passage_tags VALUES (?, ?)", [(seq, t) for t in tags])
        return seq

    def set_passage_tags(self, seq: int, tags: list[str], new: list[str]) -> None:
        """Give a passage ``tags`` in all, of which ``new`` are new to it."""
        self.db.execute("UPDATE passages SET tags = ? WHERE seq = ?", (json.dumps(tags), seq))
        self.db.executemany(
            "INSERT INTO passage_tags VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(seq, t) for t in new],
        )

    def delete_passage(self, agent_id: str, passage_id: str) -> int | None:
        """Delete one of the agent's passages; its seq, or ``None`` if there is none."""
        with self.transaction():
            row = self.db.execute(
                "DELETE FROM passages WHERE id = ? AND agent_id = ? RETURNING seq",
                (passage_id, agent_id),
            ).fetchone()
        return None if row is None else int(row[0])

    def passages(self, agent_id: str, limit: int | None = None) -> list[Row]:
        """The agent's passages, oldest first (the newest ``limit``)."""
        sql = f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE agent_id = ? ORDER BY seq DESC"
        if limit is None:
            rows = self.db.execute(sql, (agent_id,)).fetchall()
        else:
            rows = self.db.execute(sql + " LIMIT ?", (agent_id, limit)).fetchall()
        return list(reversed(rows))

    def passages_by_seq(self, seqs: list[int]) -> list[Row]:
        """Passages in the order of ``seqs`` (those still stored)."""
        if not seqs:
            return []
        marks = ", ".join("?" * len(seqs))
        rows = self.db.execute(
            f"SELECT {PASSAGE_COLUMNS} FROM passages WHERE seq IN ({marks})", seqs
        ).fetchall()
        found = {r["seq"]: r for r in rows}
        return [found[s] for s in seqs if s in found]

    def count_passages(self, agent_id: str) -> int:
        """How many passages the agent has."""
        row = self.db.execute("SELECT COUNT(*) FROM passages WHERE agent_id = ?", (agent_id,))
        return int(row.fetchone()[0])

    def embedded_passages(self, agent_id: str) -> int:
        """How many of the agent's passages have a vector."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM passages WHERE agent_id = ? AND embedding IS NOT NULL",
            (agent_id,),
        ).fetchone()
        return int(row[0])

    def search_passages(self, search: PassageSearch) -> tuple[list[Row], int]:
        """One page of the agent's passages matching the query, best first, and the total.

        Full text alone without a vector; with one, hybrid: the best ``LEXICAL_CANDIDATES``
        full-text matches and the ``SEMANTIC_CANDIDATES`` nearest by cosine, fused by
        reciprocal rank. Tags filter before ranking and paging.
        """
        raise NotImplementedError
