"""A test database read and written as any other program would: its own driver, no selfedit code.

``database`` is what the ``database`` fixture gives: a SQLite file or a PostgreSQL URL. SQL uses
``?`` placeholders on both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg

__all__ = ["is_postgres", "raw_sql"]


def is_postgres(database: str) -> bool:
    """Whether ``database`` is a PostgreSQL URL (else a SQLite file)."""
    return str(database).startswith(("postgresql://", "postgres://"))


def raw_sql(database: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own, committed; the rows it returned."""
    if is_postgres(database):
        with psycopg.connect(database, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), tuple(params) or None)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(database)
    try:
        with db:
            return db.execute(sql, params).fetchall()
    finally:
        db.close()
