"""The store contract and its backends: SQLite (default) and PostgreSQL (+ pgvector).

``open_store(target)`` picks the backend: a ``postgresql://`` URL opens PostgreSQL (the
``postgres`` extra), anything else is a SQLite file (or ``":memory:"``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from agent._errors import ConfigError
from agent.store._base import LeaseLost, Store
from agent.store._copy import CopyReport, copy_store
from agent.store._passages import PassageSearch, TagMatch
from agent.store._rows import AgentRow, Versions, default_path, record
from agent.store._sqlite import SQLiteStore
from agent.store._tools import ToolRow

__all__ = [
    "DATABASE_URL_ENV",
    "AgentRow",
    "CopyReport",
    "LeaseLost",
    "PassageSearch",
    "SQLiteStore",
    "Store",
    "TagMatch",
    "ToolRow",
    "Versions",
    "copy_store",
    "default_path",
    "is_url",
    "open_store",
    "record",
]

DATABASE_URL_ENV = "SELFEDIT_DATABASE_URL"
"""The variable naming the database when none is given (a URL or a SQLite path)."""
URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(target: str | Path | None) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def open_store(target: str | Path | None = None) -> Store:
    """Open the database ``target`` names, creating its tables on first use.

    ``None`` means ``$SELFEDIT_DATABASE_URL``, else the default SQLite file.

    Raises:
        ConfigError: it cannot be opened, holds another program's tables, has a newer schema,
            or names PostgreSQL without the ``postgres`` extra installed.
    """
    if target is None:
        target = os.environ.get(DATABASE_URL_ENV) or default_path()
    if not is_url(target):
        return SQLiteStore(target)
    try:
        postgres = importlib.import_module("agent.store._postgres")
    except ImportError as e:
        raise ConfigError(
            "database",
            [f"PostgreSQL needs the postgres extra: pip install 'selfedit[postgres]' ({e})"],
        ) from None
    store: Store = postgres.PostgresStore(str(target))
    return store
