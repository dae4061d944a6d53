"""Fixtures for the agent tests: clients that are always closed, and small helpers.

``make_client()`` and ``make_async_client()`` open ``":memory:"`` by default; in a test that uses
the ``database`` fixture (by naming it, or a module's ``pytest.mark.usefixtures("database")``),
they open that database instead, so the test runs once on SQLite and once on PostgreSQL.
"""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from agent import AsyncClient, Client, Model


def release(client: Client) -> None:
    """Close a sync client (closing twice is allowed; the client's loop is closed too)."""
    client.close()
    assert client._portal.loop.is_closed()


@pytest.fixture
def target(request: pytest.FixtureRequest) -> str:
    """Where a test's clients live by default: its ``database``, else ``":memory:"``."""
    if "database" in request.fixturenames:
        return str(request.getfixturevalue("database"))
    return ":memory:"


@pytest.fixture
def make_client(target: str) -> Iterator[Callable[..., Client]]:
    """``make_client(path=target, model=None)``: a sync ``Client``, closed at teardown."""
    made: list[Client] = []

    def make(path: str | Path = target, model: Model | None = None) -> Client:
        client = Client(path, model=model)
        made.append(client)
        return client

    yield make
    for client in made:
        release(client)


@pytest.fixture
async def make_async_client(target: str) -> AsyncIterator[Callable[..., AsyncClient]]:
    """``make_async_client(path=target, model=None)``: an ``AsyncClient``, closed after."""
    made: list[AsyncClient] = []

    def make(path: str | Path = target, model: Model | None = None) -> AsyncClient:
        client = AsyncClient(path, model=model)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
