"""A database written by selfedit 0.1 (schema version 1) opens, migrates and keeps working."""

import json
import sqlite3
from pathlib import Path

from agent import Client
from agent.store._sqlite_schema import SCHEMA_VERSION
from agent.testing import ScriptedModel, call, send

# the schema of version 1, as selfedit 0.1 created it
V1_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, system TEXT NOT NULL, model TEXT NOT NULL,
        embedding TEXT, max_steps INTEGER NOT NULL, created_at TEXT NOT NULL,
        tools TEXT NOT NULL,  -- JSON list of {"name": ..., "id": ...}
        settings TEXT NOT NULL DEFAULT '{}',  -- JSON: context window limit and thresholds
        summary TEXT NOT NULL DEFAULT '',  -- the recursive summary of evicted messages
        summarized INTEGER NOT NULL DEFAULT 0,  -- how many messages it covers
        summary_error TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS blocks (
        id TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL,
        "limit" INTEGER NOT NULL, description TEXT, read_only INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS agent_blocks (
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        block_id TEXT NOT NULL REFERENCES blocks(id),
        position INTEGER NOT NULL,
        PRIMARY KEY (agent_id, block_id)
    )""",
    # messages: the whole history; search_text is what recall search sees ('' = plumbing)
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        role TEXT NOT NULL, content TEXT NOT NULL, tool_calls TEXT, tool_call_id TEXT,
        name TEXT, status TEXT, created_at TEXT NOT NULL,
        in_context INTEGER NOT NULL DEFAULT 1, search_text TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS messages_context ON messages (agent_id, in_context, seq)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        search_text, content='messages', content_rowid='seq', tokenize='porter unicode61'
    )""",
    """CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages
        WHEN new.search_text != '' BEGIN
        INSERT INTO messages_fts(rowid, search_text) VALUES (new.seq, new.search_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages
        WHEN old.search_text != '' BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, search_text)
        VALUES ('delete', old.seq, old.search_text);
    END""",
    """CREATE TABLE IF NOT EXISTS tools (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, source TEXT, schema TEXT NOT NULL,
        source_hash TEXT, created_at TEXT NOT NULL
    )""",
    # archival memory: passages, their tags, and a BM25 index over their text
    """CREATE TABLE IF NOT EXISTS passages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        text TEXT NOT NULL, text_hash TEXT NOT NULL, tags TEXT NOT NULL,
        created_at TEXT NOT NULL, embedding BLOB,
        UNIQUE (agent_id, text_hash)
    )""",
    """CREATE TABLE IF NOT EXISTS passage_tags (
        passage_seq INTEGER NOT NULL REFERENCES passages(seq) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (tag, passage_seq)
    )""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
        text, content='passages', content_rowid='seq', tokenize='porter unicode61'
    )""",
    """CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN
        INSERT INTO passages_fts(rowid, text) VALUES (new.seq, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN
        INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    END""",
)


AGENT = (
    "agent-old", "old", "You are old.", "openai/gpt-4o-mini", None, 20, "2026-01-01T00:00:00+00:00",
    json.dumps([{"name": "send_message", "id": None}, {"name": "core_memory_append", "id": None}]),
    "{}",
)  # fmt: skip


def make_v1(path: Path) -> None:
    with sqlite3.connect(path) as db:
        for statement in V1_SCHEMA:
            db.execute(statement)
        db.execute("INSERT INTO schema_version VALUES (1)")
        db.execute(
            "INSERT INTO agents (id, name, system, model, embedding, max_steps, created_at, tools,"
            " settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            AGENT,
        )
        db.execute("INSERT INTO blocks VALUES ('block-old', 'human', 'Name: Bob', 5000, NULL, 0)")
        db.execute("INSERT INTO agent_blocks VALUES ('agent-old', 'block-old', 0)")
        db.execute(
            "INSERT INTO messages (id, agent_id, role, content, created_at, search_text) "
            "VALUES ('message-old', 'agent-old', 'user', 'hello from before', "
            "'2026-01-01T00:00:01+00:00', 'hello from before')"
        )


def test_a_version_1_database_migrates_and_keeps_its_agents(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_v1(path)
    model = ScriptedModel(
        [call("core_memory_append", label="human", content="Likes tea."), send("ok")]
    )
    with Client(path, model=model) as client:
        agent = client.agents.retrieve("agent-old")
        assert agent.memory.get_block("human").value == "Name: Bob"
        response = client.agents.messages.create(
            agent_id="agent-old", messages=[{"role": "user", "content": "I like tea"}]
        )
        assert response.stop_reason == "end_turn"
        assert model.requests[0].messages[1]["content"] == "hello from before"
        human = client.agents.blocks.retrieve("agent-old", block_label="human")
        assert human.value == "Name: Bob\nLikes tea."
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("SELECT version FROM blocks").fetchone()[0] == 2  # one write since
