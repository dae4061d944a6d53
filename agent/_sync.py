"""``Client``: the synchronous client, usable from scripts and from a running event loop.

Every call runs on the client's own event loop in a background thread, so ``Client`` works
inside Jupyter (whose loop is already running) as well as in plain scripts.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from agent._client import AsyncClient
from agent._embedding import EmbeddingModel
from agent._model import Model
from agent._sandbox import Sandbox

__all__ = ["Client"]

T = TypeVar("T")


class _Portal:
    """An event loop in a daemon thread; coroutines are run on it and waited for."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="selfedit")
        self._thread.start()

    def _serve(self) -> None:
        # Ctrl-C must reach the main thread: delivered to this one, it would not interrupt a
        # main thread blocked in input() or a read, and the program would seem to hang
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self.loop.is_closed():
            coroutine.close()
            raise RuntimeError("this Client is closed")
        finished = threading.Event()
        future = asyncio.run_coroutine_threadsafe(_tracked(coroutine, finished), self.loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C while waiting: cancel the work on the loop, and let
            future.cancel()  # it clean up (undo its step, give back its lease) before we go on
            finished.wait(timeout=10)
            raise

    def iterate(self, iterator: AsyncGenerator[T, None]) -> Iterator[T]:
        """Items of an async generator; leaving early closes it (releasing what it holds)."""
        try:
            while True:
                try:
                    yield self.run(_anext(iterator))
                except StopAsyncIteration:
                    return
        finally:
            if not self.loop.is_closed():
                self.run(iterator.aclose())

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


async def _tracked(coroutine: Coroutine[Any, Any, T], finished: threading.Event) -> T:
    try:
        return await coroutine
    finally:
        finished.set()


async def _anext(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


class _Sync:
    """A synchronous view of an async resource: same attributes, calls run on the portal."""

    def __init__(self, target: Any, portal: _Portal) -> None:
        self._target = target
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: self._portal.run(attr(*a, **k))
        if inspect.isasyncgenfunction(attr):
            return lambda *a, **k: self._portal.iterate(attr(*a, **k))
        if callable(attr) or isinstance(attr, (str, int, float, bool, type(None))):
            return attr
        return _Sync(attr, self._portal)

    def __dir__(self) -> list[str]:
        return dir(self._target)


class Client(_Sync):
    """The synchronous client: ``client.agents.messages.create(agent_id=..., messages=[...])``.

    Same arguments and resources as ``AsyncClient``; see there.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        model: Model | None = None,
        embedding: EmbeddingModel | None = None,
        summarizer: Model | None = None,
        lease_ttl: float = 30.0,
        lease_wait: float = 300.0,
        sandbox: Sandbox | None = None,
    ) -> None:
        portal = _Portal()
        try:
            client = portal.run(
                _make(
                    path,
                    model=model,
                    embedding=embedding,
                    summarizer=summarizer,
                    lease_ttl=lease_ttl,
                    lease_wait=lease_wait,
                    sandbox=sandbox,
                )
            )
        except BaseException:
            portal.close()  # a configuration error must not leave a thread running
            raise
        super().__init__(client, portal)
        self.async_client = client
        """The underlying ``AsyncClient``."""

    def close(self) -> None:
        """Close the database and stop the background loop (a second call does nothing)."""
        if self._portal.loop.is_closed():
            return
        self._portal.run(_close(self.async_client))
        self._portal.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(path: str | Path | None, **options: Any) -> AsyncClient:
    return AsyncClient(path, **options)


async def _close(client: AsyncClient) -> None:
    await client.aclose()  # on this loop: stdio servers' processes end
