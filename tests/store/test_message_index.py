"""SQLite's recall index: a transaction's new messages are indexed in one statement at commit.

There is no insert trigger (it made FTS5 flush per statement), so these check what the
trigger used to guarantee: every committed message with search text is found, nothing rolled
back is, deletes never meet an unindexed row, and FTS5's own integrity check passes.
"""

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent import Client
from agent._history import Record
from agent.store import SQLiteStore
from agent.testing import ScriptedModel, send


def _agent(store: SQLiteStore, path: Path, name: str = "a") -> str:
    store.close()
    with Client(path, model=ScriptedModel([send("ok")])) as client:
        agent_id = client.agents.create(name=name).id
    return agent_id


def _intact(store: SQLiteStore) -> None:
    """The index holds exactly the messages with search text, each once (FTS5's own check
    of its structure, and its vocabulary read back)."""
    store.db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    store.db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.terms "
        "USING fts5vocab(main, messages_fts, instance)"
    )
    indexed = store.db.execute("SELECT doc, COUNT(*) FROM temp.terms GROUP BY doc").fetchall()
    rows = store.db.execute("SELECT seq, search_text FROM messages WHERE search_text != ''")
    expected = {seq: len(text.split()) for seq, text in rows}
    assert dict(indexed) == expected


def _found(store: SQLiteStore, agent_id: str, word: str) -> set[str]:
    records, total = store.search_messages(agent_id, word, None, None, 0, 1_000)
    assert total == len(records)
    return {r.content for r in records}


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    path = tmp_path / "index.db"
    agent_id = _agent(SQLiteStore(path), path)
    opened = SQLiteStore(path)
    opened.agent_id = agent_id  # type: ignore[attr-defined]
    return opened


def test_messages_committed_together_are_all_found(store: SQLiteStore) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    with store.transaction():
        store.add_messages(agent_id, [Record("user", "alpha one"), Record("assistant", "")])
        store.add_messages(agent_id, [Record("user", "alpha two")])
    store.add_messages(agent_id, [Record("user", "alpha three")])  # outside a transaction
    assert _found(store, agent_id, "alpha") == {"alpha one", "alpha two", "alpha three"}
    _intact(store)


def test_a_write_rolled_back_to_its_savepoint_leaves_nothing_in_the_index(
    store: SQLiteStore,
) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    with store.transaction():
        store.db.execute("SAVEPOINT step")
        store.add_messages(agent_id, [Record("user", "beta lost")])
        store.db.execute("ROLLBACK TO step")
        store.db.execute("RELEASE step")
        store.add_messages(agent_id, [Record("user", "beta kept")])
    assert _found(store, agent_id, "beta") == {"beta kept"}
    _intact(store)


def test_a_rolled_back_transaction_leaves_nothing_and_the_next_one_is_indexed(
    store: SQLiteStore,
) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError), store.transaction():
        store.add_messages(agent_id, [Record("user", "gamma lost")])
        raise RuntimeError("undo")
    store.add_messages(agent_id, [Record("user", "gamma kept")])
    assert _found(store, agent_id, "gamma") == {"gamma kept"}
    _intact(store)


def test_a_search_inside_the_transaction_finds_what_it_inserted(store: SQLiteStore) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    with store.transaction():
        store.add_messages(agent_id, [Record("user", "delta here")])
        assert _found(store, agent_id, "delta") == {"delta here"}
        store.add_messages(agent_id, [Record("user", "delta again")])
    assert _found(store, agent_id, "delta") == {"delta here", "delta again"}
    _intact(store)


def test_deleting_an_agent_in_the_transaction_that_wrote_its_messages_keeps_the_index_whole(
    store: SQLiteStore, tmp_path: Path
) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    with store.transaction():
        store.add_messages(agent_id, [Record("user", "epsilon gone")])
        store.delete_agent(agent_id)
    _intact(store)
    assert store.db.execute("SELECT COUNT(*) FROM messages_fts").fetchone()[0] == 0


def test_a_version_2_database_keeps_its_index_and_loses_the_insert_trigger(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.db"
    agent_id = _agent(SQLiteStore(path), path)
    with sqlite3.connect(path) as db:  # put it back as version 2 left it: trigger, old rows
        db.execute(
            "CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.search_text != '' "
            "BEGIN INSERT INTO messages_fts(rowid, search_text) "
            "VALUES (new.seq, new.search_text); END"
        )
        db.execute(
            "INSERT INTO messages (id, agent_id, role, content, created_at, search_text) "
            "VALUES ('message-old', ?, 'user', 'zeta old', '2026-01-01T00:00:00+00:00', "
            "'zeta old')",
            (agent_id,),
        )
        db.execute("UPDATE schema_version SET version = 2")
    store = SQLiteStore(path)
    names = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
    assert "messages_ai" not in names
    store.add_messages(agent_id, [Record("user", "zeta new")])
    assert _found(store, agent_id, "zeta") == {"zeta old", "zeta new"}
    _intact(store)  # the new message was indexed once, not twice
    store.close()


WORDS = st.sampled_from(["kiwi", "lime", "fig", ""])
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["commit", "savepoint-undo", "rollback", "alone"]),
        st.lists(WORDS, min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_whatever_commits_is_exactly_what_search_finds(
    store: SQLiteStore, steps: list[tuple[str, list[str]]]
) -> None:
    agent_id = store.agent_id  # type: ignore[attr-defined]
    store.db.execute("DELETE FROM messages")
    kept: list[str] = []
    for n, (how, words) in enumerate(steps):
        records = [Record("user", f"{w} n{n}i{i}" if w else "") for i, w in enumerate(words)]
        if how == "alone":
            store.add_messages(agent_id, records)
            kept += [r.content for r in records]
        elif how == "rollback":
            with pytest.raises(RuntimeError), store.transaction():
                store.add_messages(agent_id, records)
                raise RuntimeError("undo")
        else:
            with store.transaction():
                if how == "savepoint-undo":
                    store.db.execute("SAVEPOINT step")
                    store.add_messages(agent_id, records)
                    store.db.execute("ROLLBACK TO step")
                    store.db.execute("RELEASE step")
                store.add_messages(agent_id, records[:1])
                kept.append(records[0].content)
    _intact(store)
    for word in ("kiwi", "lime", "fig"):
        assert _found(store, agent_id, word) == {c for c in kept if c.startswith(word)}
