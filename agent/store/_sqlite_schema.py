"""The database schema, one statement at a time (triggers hold semicolons of their own)."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 3

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, system TEXT NOT NULL, model TEXT NOT NULL,
        embedding TEXT, max_steps INTEGER NOT NULL, created_at TEXT NOT NULL,
        tools TEXT NOT NULL,  -- JSON list of {"name": ..., "id": ...}
        settings TEXT NOT NULL DEFAULT '{}',  -- JSON: context window limit and thresholds
        summary TEXT NOT NULL DEFAULT '',  -- the recursive summary of evicted messages
        summarized INTEGER NOT NULL DEFAULT 0,  -- how many messages it covers
        summary_error TEXT,
        version INTEGER NOT NULL DEFAULT 1  -- bumped by changes to the row and by evictions
    )""",
    """CREATE TABLE IF NOT EXISTS blocks (
        id TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL,
        "limit" INTEGER NOT NULL, description TEXT, read_only INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1  -- bumped by every write: writes compare and set
    )""",
    # the turn lease: one turn of an agent at a time, across clients, processes and hosts
    """CREATE TABLE IF NOT EXISTS leases (
        agent_id TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
        acquired_at REAL NOT NULL, expires_at REAL NOT NULL
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
    # no insert trigger: the store indexes a transaction's new messages in one statement
    # before it commits (a trigger made FTS5 flush per statement, 4-6x the cost of a step's
    # insert); the delete trigger stays (the store indexes before anything deletes)
    """CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages
        WHEN old.search_text != '' BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, search_text)
        VALUES ('delete', old.seq, old.search_text);
    END""",
    # tools: by reference (module:qualname) or by source; nothing here runs when it is read
    """CREATE TABLE IF NOT EXISTS tools (
        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, source TEXT, schema TEXT NOT NULL,
        source_hash TEXT, created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,  -- bumped by every upsert of the row
        reference TEXT,  -- "module:qualname" when the function is importable
        spec TEXT NOT NULL DEFAULT '{}',  -- JSON: function name, @tool options, injected names
        override INTEGER NOT NULL DEFAULT 0,  -- 1: may take the name of a built-in tool
        sandbox INTEGER NOT NULL DEFAULT 0  -- 1: every call runs in a separate process
    )""",
    # one number that moves with every write to the tools table, read by each step's check
    "CREATE TABLE IF NOT EXISTS tools_state (version INTEGER NOT NULL)",
    "INSERT INTO tools_state SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM tools_state)",
    """CREATE TRIGGER IF NOT EXISTS tools_ai AFTER INSERT ON tools BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS tools_au AFTER UPDATE ON tools BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS tools_ad AFTER DELETE ON tools BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    # MCP servers as tool sources: how to reach each, and the tools it listed last (so loading
    # an agent that uses them contacts nothing); a change moves tools_state like a tool's does
    """CREATE TABLE IF NOT EXISTS mcp_servers (
        name TEXT PRIMARY KEY,
        config TEXT NOT NULL,  -- JSON: command, args, env, cwd | url, headers; timeout
        tools TEXT NOT NULL DEFAULT '[]',  -- JSON: [{name, description, input_schema}]
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1  -- bumped by every change of the row
    )""",
    """CREATE TRIGGER IF NOT EXISTS mcp_servers_ai AFTER INSERT ON mcp_servers BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS mcp_servers_au AFTER UPDATE ON mcp_servers BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS mcp_servers_ad AFTER DELETE ON mcp_servers BEGIN
        UPDATE tools_state SET version = version + 1;
    END""",
    # archival memory: passages, their tags, and a BM25 index over their text
    """CREATE TABLE IF NOT EXISTS passages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        text TEXT NOT NULL, text_hash TEXT NOT NULL, tags TEXT NOT NULL,
        created_at TEXT NOT NULL, embedding BLOB,
        UNIQUE (agent_id, text_hash)
    )""",
    # the vector index's freshness check (newest seq, count) reads this index alone
    """CREATE INDEX IF NOT EXISTS passages_embedded ON passages (agent_id, seq)
        WHERE embedding IS NOT NULL""",
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

MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE agents ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE blocks ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tools ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE tools ADD COLUMN reference TEXT",
        "ALTER TABLE tools ADD COLUMN spec TEXT NOT NULL DEFAULT '{}'",
        "ALTER TABLE tools ADD COLUMN override INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE tools ADD COLUMN sandbox INTEGER NOT NULL DEFAULT 0",
    ),
    3: ("DROP TRIGGER IF EXISTS messages_ai",),
}
"""What turns a database of the version before into this one (new tables come from SCHEMA)."""
