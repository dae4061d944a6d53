"""What selfedit opens and what it refuses, before writing anything; and what it never shows.

A PostgreSQL schema that holds another program's tables, or one written by a newer selfedit,
is refused with a ``ConfigError`` that says what to do, and is left exactly as it was (so is a
SQLite file of a newer version). The password in a URL never reaches ``Store.path`` or an
error message.
"""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from _postgres import drop_schema, fresh_url, server_url

from agent import AsyncClient, Client, ConfigError
from agent.store import DATABASE_URL_ENV, open_store
from agent.store._postgres_schema import SCHEMA_VERSION as PG_VERSION
from agent.store._sqlite_schema import SCHEMA_VERSION as SQLITE_VERSION
from agent.testing import FakeEmbedding, ScriptedModel

SECRET = "s3cret-Pw"


@pytest.fixture
def url() -> Iterator[str]:
    """A new, empty PostgreSQL schema (dropped afterwards)."""
    made = fresh_url()
    yield made
    drop_schema(made)


def run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def objects(url: str) -> set[str]:
    """Everything the URL's schema holds: tables, indexes, sequences, views and functions."""
    with psycopg.connect(url, autocommit=True) as conn:
        relations = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
        ).fetchall()
        functions = conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
        ).fetchall()
    return {r[0] for r in relations + functions}


def with_password(url: str) -> tuple[str, str]:
    """``url`` with a password in it, and that password.

    A URL that has one keeps it; one without gets ``SECRET`` (the test server trusts local
    connections, so any password opens it).
    """
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or 'postgres'}:{SECRET}@{host}"
    return urlunsplit(parts._replace(netloc=netloc)), SECRET


# -- refused, untouched ----------------------------------------------------------------------


def test_a_schema_holding_another_programs_tables_is_refused_and_left_untouched(
    url: str,
) -> None:
    run(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY)", "INSERT INTO orders VALUES (7)")
    before = objects(url)
    with pytest.raises(ConfigError, match=r"is not selfedit's \(it holds other tables: orders\)"):
        Client(url)
    with pytest.raises(ConfigError, match="use another database or schema"):
        open_store(url)
    assert objects(url) == before  # no table, index, sequence or function was made
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT id FROM orders").fetchall() == [(7,)]


def test_a_schema_of_a_newer_selfedit_is_refused_before_anything_is_written(url: str) -> None:
    newer = PG_VERSION + 1
    run(
        url,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        f"INSERT INTO schema_version VALUES ({newer})",
    )
    with pytest.raises(
        ConfigError,
        match=rf"has schema version {newer}, newer than this selfedit's \({PG_VERSION}\): "
        "upgrade selfedit to open it",
    ):
        Client(url)
    assert objects(url) == {"schema_version"}  # not one of this version's tables was made
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(newer,)]


def test_a_sqlite_file_of_a_newer_selfedit_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    newer = SQLITE_VERSION + 1
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (?)", (newer,))
        db.commit()
    before = path.read_bytes()
    with pytest.raises(
        ConfigError,
        match=rf"has schema version {newer}, newer than this selfedit's \({SQLITE_VERSION}\)",
    ):
        Client(path)
    assert path.read_bytes() == before  # not even the journal mode was changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newer.db"]  # no WAL left behind


def test_a_url_whose_search_path_names_no_schema_that_exists_is_refused() -> None:
    parts = urlsplit(server_url())
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    missing = urlunsplit(
        parts._replace(query=urlencode([*query, ("options", "-csearch_path=t_missing")]))
    )
    with pytest.raises(ConfigError, match=r"no schema that exists \(search_path: t_missing\)"):
        Client(missing)
    with psycopg.connect(server_url()) as conn:
        assert conn.execute("SELECT to_regnamespace('t_missing')").fetchone() == (None,)


# -- the password stays hidden --------------------------------------------------------------


@pytest.mark.parametrize("where", ["user", "query"])
def test_the_password_of_a_url_never_appears_in_the_store_path(url: str, where: str) -> None:
    if where == "user":
        opened, secret = with_password(url)
    else:
        opened, secret = f"{url}&password={SECRET}", SECRET
    store = open_store(opened)
    try:
        assert secret not in store.path
        assert "***" in store.path
        assert store.path.split("?")[0].endswith(urlsplit(url).path)  # still says where it is
    finally:
        store.close()


def test_the_password_of_a_url_never_appears_in_a_refusal(url: str) -> None:
    run(url, "CREATE TABLE orders (id INTEGER)")
    opened, secret = with_password(url)
    with pytest.raises(ConfigError, match="holds other tables") as refused:
        Client(opened)
    assert secret not in str(refused.value)


def test_an_unreachable_url_is_a_one_line_config_error_without_its_password(
    tmp_path: Path,
) -> None:
    unreachable = f"postgresql://postgres:{SECRET}@/postgres?host={tmp_path}"  # no server there
    with pytest.raises(ConfigError, match="cannot be reached") as refused:
        Client(unreachable)
    (problem,) = refused.value.problems
    assert "\n" not in problem and str(tmp_path) in problem  # says where it looked
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
    assert SECRET not in str(refused.value)


def test_a_malformed_url_is_refused_without_echoing_its_password() -> None:
    malformed = "postgresql://postgres:pa%zzss@/postgres?host=/nonexistent"  # %zz: no escape
    with pytest.raises(ConfigError) as refused:
        open_store(malformed)
    assert "pa%zzss" not in str(refused.value)
    assert "zzss" not in str(refused.value)


# -- migrations ------------------------------------------------------------------------------

CATS = [f"Cats, cats and more cats: cat fact number {i}." for i in range(30)]
KITTEN = "A kitten naps in the laundry basket."


def hnsw_definitions(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE 'passages_hnsw_%' ORDER BY indexname"
        ).fetchall()
    return [r[0] for r in rows]


async def test_version_2_is_migrated_its_hnsw_indexes_rebuilt_at_half_precision(
    url: str,
) -> None:
    client = AsyncClient(url, model=ScriptedModel())
    agents = []
    for dims in (64, 32):
        agent = await client.agents.create(embedding=FakeEmbedding(dimensions=dims))
        assert agent.archival is not None
        await agent.archival.insert_many([*CATS, KITTEN])
        agents.append(agent.id)
    client.close()
    # as version 2 left it: float32 HNSW indexes, and rows whose text may move to TOAST
    run(
        url,
        "DROP INDEX passages_hnsw_64, passages_hnsw_32",
        *(
            f"CREATE INDEX passages_hnsw_{d} ON passages USING hnsw "
            f"((embedding::vector({d})) vector_cosine_ops) WHERE dims = {d}"
            for d in (64, 32)
        ),
        "ALTER TABLE passages RESET (toast_tuple_target)",
        "UPDATE schema_version SET version = 2",
    )
    assert all(" vector_cosine_ops" in d for d in hnsw_definitions(url))

    client = AsyncClient(url, model=ScriptedModel())
    try:
        definitions = hnsw_definitions(url)
        assert len(definitions) == 2
        assert all("halfvec_cosine_ops" in d for d in definitions), definitions
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [(PG_VERSION,)]
            (options,) = conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'passages'::regclass"
            ).fetchone()
        assert "toast_tuple_target=8160" in options
        client.store.db.execute("SET enable_seqscan = off")  # through the rebuilt indexes
        for agent_id, dims in zip(agents, (64, 32), strict=True):
            agent = await client.agents.retrieve(agent_id)
            assert agent.archival is not None
            agent.archival.embedder = FakeEmbedding(dimensions=dims)
            found = await agent.archival.search("kittens", page_size=1)
            assert [p.text for p in found.results] == [KITTEN]
            assert found.total == len(CATS) + 1  # each passage a neighbour by meaning
    finally:
        client.close()


# -- SELFEDIT_DATABASE_URL ------------------------------------------------------------------


def test_client_without_a_path_opens_selfedit_database_url(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    monkeypatch.setenv("SELFEDIT_HOME", str(tmp_path))  # where the default SQLite file would go
    with Client(model=ScriptedModel()) as client:
        client.agents.create(name="from-the-environment")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM agents").fetchall() == [("from-the-environment",)]
    assert list(tmp_path.iterdir()) == []  # no SQLite file was made
    with Client(tmp_path / "given.db", model=ScriptedModel()) as client:  # a path given wins
        assert client.agents.list() == []
