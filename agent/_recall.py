"""Recall memory: the agent's whole conversation, searchable (messages out of context too)."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

from pydantic import BaseModel

from agent._history import found_message
from agent._messages import Message
from agent.store import Store

__all__ = ["RecallMemory", "RecallPage", "as_bound"]


class RecallPage(BaseModel):
    """One page of conversation search results."""

    results: list[Message]
    """Matching messages, best first."""
    total: int
    """How many messages matched in all."""
    page: int
    """This page's number, from 0."""
    pages: int
    """How many pages there are."""

    def summary(self) -> str:
        """``page X of Y, N results``, for the model."""
        return f"page {self.page + 1} of {max(self.pages, 1)}, {self.total} results"


def as_bound(value: date | datetime | str | None, *, end: bool = False) -> str | None:
    """A date bound as stored text (UTC ISO); a bare date covers its whole day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = (
            datetime.fromisoformat(value)
            if "T" in value or " " in value
            else date.fromisoformat(value)
        )
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


class RecallMemory:
    """One agent's conversation history; tools reach it as ``agent_state.recall``."""

    def __init__(self, store: Store, agent_id: str) -> None:
        self._store = store
        self._agent_id = agent_id

    async def search(
        self,
        query: str,
        page: int = 0,
        page_size: int = 5,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
    ) -> RecallPage:
        """Messages matching ``query`` (BM25), within the dates given, one page at a time.

        Tool plumbing (search results, send_message receipts) is never among the results.
        A bare ``end_date`` includes that whole day.
        """
        page, page_size = max(page, 0), max(page_size, 1)
        records, total = await self._store.asearch_messages(
            self._agent_id,
            query,
            as_bound(start_date),
            as_bound(end_date, end=True),
            page,
            page_size,
        )
        return RecallPage(
            results=[found_message(r) for r in records],
            total=total,
            page=page,
            pages=math.ceil(total / page_size),
        )

    def count(self) -> int:
        """How many messages the agent has stored, in context or not."""
        return self._store.count_messages(self._agent_id)
