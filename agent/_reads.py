"""Group reads: the freshness checks of one event-loop tick, answered by one query.

Every step first asks the database what changed since its agent last looked (``versions``),
and after a tool edited memory, whether another client wrote the same block meanwhile. On
PostgreSQL each ask is a round trip. After a group commit, every agent in it starts its next
step in the same tick; asked one by one, that is a round trip per agent, each blocking the
loop. Here they wait one tick and are answered together, by one query on an async connection
(``Store.aversions_of``, ``Store.ablock_versions``): the loop goes on meanwhile.

For a store whose reads are not round trips (SQLite: microseconds), ask it directly instead
(``Store.remote``): the batching would cost more than it saves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from agent.store import Store, Versions

__all__ = ["GroupReads"]

V = TypeVar("V")


class _Batch(Generic[V]):
    """Keys asked for in one tick, and who waits for each; read together at the tick's end."""

    def __init__(self, read: Callable[[list[str]], Awaitable[dict[str, V]]]) -> None:
        self._read = read
        self._waiting: dict[str, list[asyncio.Future[V | None]]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> V | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._start)
        self._waiting.setdefault(key, []).append(future)
        return await future

    def _start(self) -> None:
        waiting, self._waiting = self._waiting, {}
        task = asyncio.get_running_loop().create_task(self._answer(waiting))
        self._running.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._running.discard)

    async def _answer(self, waiting: dict[str, list[asyncio.Future[V | None]]]) -> None:
        try:
            found = await self._read(list(waiting))
        except BaseException as e:  # every waiter gets the failure, as its own read would have
            for futures in waiting.values():
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(e, Exception):
                        future.set_exception(e)
                    else:
                        future.cancel()
            if not isinstance(e, Exception):
                raise
            return
        for key, futures in waiting.items():
            for future in futures:
                if not future.done():  # a cancelled waiter
                    future.set_result(found.get(key))


class GroupReads:
    """A client's freshness reads, batched per tick (for a store whose reads are round trips)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._versions = _Batch(lambda ids: store.aversions_of(ids))
        self._blocks = _Batch(lambda ids: store.ablock_versions(ids))

    async def versions(self, agent_id: str) -> Versions | None:
        """``Store.versions``: read with the other agents' of this tick."""
        return await self._versions.get(agent_id)

    async def block_versions(self, block_ids: list[str]) -> dict[str, int]:
        """``Store.block_version`` of each block (a deleted one is left out)."""
        got = await asyncio.gather(*(self._blocks.get(b) for b in block_ids))
        return {b: v for b, v in zip(block_ids, got, strict=True) if v is not None}
