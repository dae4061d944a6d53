"""Fixtures for the agent tests: clients that are always closed, and small helpers."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from agent import AsyncClient, Client, Model


def release(client: Client) -> None:
    """Close a sync client (closing twice is allowed; the client's loop is closed too)."""
    client.close()
    assert client._portal.loop.is_closed()


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    """``make_client(path=":memory:", model=None)``: a sync ``Client``, closed at teardown."""
    made: list[Client] = []

    def make(path: str | Path = ":memory:", model: Model | None = None) -> Client:
        client = Client(path, model=model)
        made.append(client)
        return client

    yield make
    for client in made:
        release(client)


@pytest.fixture
async def make_async_client() -> AsyncIterator[Callable[..., AsyncClient]]:
    """``make_async_client(path=":memory:", model=None)``: an ``AsyncClient``, closed after."""
    made: list[AsyncClient] = []

    def make(path: str | Path = ":memory:", model: Model | None = None) -> AsyncClient:
        client = AsyncClient(path, model=model)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
