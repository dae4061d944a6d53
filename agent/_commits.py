"""Group commit: steps that finish in the same event-loop tick share one SQLite transaction.

A commit costs far more than the writes in it, so 200 agents committing one step each in a
tick pay for one commit instead of 200. Every step still commits atomically: its writes run
in a savepoint of their own, rolled back alone if they fail; if the shared commit fails,
every step in it fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agent.store import Store

__all__ = ["GroupCommit"]

Write = Callable[[], None]


class GroupCommit:
    """Queues writes and flushes them together at the next turn of the event loop."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[Write, asyncio.Future[None]]] = []

    async def commit(self, write: Write) -> None:
        """Run ``write`` in a transaction shared with the other writes of this tick.

        Raises:
            Exception: whatever the write raised, or why the shared commit failed; nothing of
                it was saved.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((write, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        await future  # a cancelled wait cancels the future, and the flush skips the write

    def _flush(self) -> None:
        pending = [(w, f) for w, f in self._pending if not f.cancelled()]
        self._pending = []
        if not pending:
            return
        done: list[tuple[asyncio.Future[None], BaseException | None]] = []
        try:
            with self._store.transaction():
                if len(pending) == 1:  # alone: its failure rolls back everything (no savepoint)
                    pending[0][0]()
                    done.append((pending[0][1], None))
                else:
                    for write, future in pending:
                        done.append((future, self._savepoint(write)))
        except Exception as e:  # the shared commit failed (or the only write): so did every write
            done = [(future, e) for _, future in pending]
        for future, error in done:
            if not future.cancelled():
                future.set_result(None) if error is None else future.set_exception(error)

    def _savepoint(self, write: Write) -> Exception | None:
        store = self._store  # savepoints go with the next statement where the backend can
        store.soon("SAVEPOINT step")
        try:
            write()
        except Exception as e:  # handed to the step that wrote it, which raises it
            store.soon("ROLLBACK TO step")
            store.soon("RELEASE step")
            return e
        store.soon("RELEASE step")
        return None
