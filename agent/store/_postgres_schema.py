"""The PostgreSQL schema: SQLite's tables and columns, with PostgreSQL's own indexes.

Column names and types follow ``_sqlite_schema`` so the shared SQL reads both alike (flags and
times stay INTEGER and ISO text; numbers a user sets or that keep growing are BIGINT, 64 bits
like SQLite's INTEGER). Full text is a generated ``tsvector`` column with a GIN index (of at most
about 1 MB of words per row, PostgreSQL's limit: a longer text is indexed from its start);
vectors are pgvector columns with an HNSW index per dimension (``hnsw_index``). Text that is
sorted or compared as SQLite does (names, times) is ``COLLATE "C"``: byte order, whatever the
database's locale.

A passage's row is kept whole when it fits in a page (``toast_tuple_target``): its 1,536-d
vector is 6 KB, and PostgreSQL would otherwise move the text and its ``tsvector`` out to TOAST,
so every full-text match would cost a TOAST index lookup for its rank (9 buffers a match, not 1).
The HNSW index holds half-precision copies of the vectors (``halfvec``): half the size of a
float32 index, so more of it stays in memory, and cheaper distances. A search ranks candidates
only by order, so float16 is plenty; the vectors themselves stay float32.
"""

from __future__ import annotations

__all__ = [
    "HNSW_MAX_DIMS",
    "MIGRATIONS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "TEXT_CONFIG",
    "distance",
    "hnsw_index",
]

SCHEMA_VERSION = 3
"""The same number as SQLite's: both backends hold the same data at the same version."""
TEXT_CONFIG = "english"
"""The text search configuration (stemming and stop words, like SQLite's porter tokenizer)."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    # the full-text value of a text: a long one may make more than the 1 MB a tsvector holds,
    # then its first half (quarter, ...) is indexed; a short one never needs a subtransaction
    f"""CREATE OR REPLACE FUNCTION selfedit_tsvector(body text) RETURNS tsvector
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
        DECLARE kept integer := length(body);
        BEGIN
            WHILE kept > 100000 LOOP
                BEGIN
                    RETURN to_tsvector('{TEXT_CONFIG}', left(body, kept));
                EXCEPTION WHEN program_limit_exceeded THEN
                    kept := kept / 2;
                END;
            END LOOP;
            RETURN to_tsvector('{TEXT_CONFIG}', left(body, kept));
        END $$""",
    """CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, system TEXT NOT NULL, model TEXT NOT NULL,
        embedding TEXT, max_steps BIGINT NOT NULL, created_at TEXT COLLATE "C" NOT NULL,
        tools TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '{}',
        summary TEXT NOT NULL DEFAULT '', summarized BIGINT NOT NULL DEFAULT 0,
        summary_error TEXT, version BIGINT NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX IF NOT EXISTS agents_created ON agents (created_at)",
    """CREATE TABLE IF NOT EXISTS blocks (
        seq BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, label TEXT NOT NULL, value TEXT NOT NULL,
        "limit" BIGINT NOT NULL, description TEXT, read_only INTEGER NOT NULL,
        version BIGINT NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE IF NOT EXISTS leases (
        agent_id TEXT PRIMARY KEY, owner TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL,
        acquired_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner)",
    """CREATE TABLE IF NOT EXISTS agent_blocks (
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        block_id TEXT NOT NULL REFERENCES blocks(id),
        position BIGINT NOT NULL,
        PRIMARY KEY (agent_id, block_id)
    )""",
    "CREATE INDEX IF NOT EXISTS agent_blocks_block ON agent_blocks (block_id)",
    """CREATE TABLE IF NOT EXISTS messages (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        role TEXT NOT NULL, content TEXT NOT NULL, tool_calls TEXT, tool_call_id TEXT,
        name TEXT, status TEXT, created_at TEXT COLLATE "C" NOT NULL,
        in_context INTEGER NOT NULL DEFAULT 1, search_text TEXT NOT NULL DEFAULT '',
        search_tsv tsvector GENERATED ALWAYS AS (selfedit_tsvector(search_text)) STORED
    )""",
    "CREATE INDEX IF NOT EXISTS messages_context ON messages (agent_id, in_context, seq)",
    "CREATE INDEX IF NOT EXISTS messages_search ON messages USING GIN (search_tsv)",
    """CREATE TABLE IF NOT EXISTS tools (
        id TEXT PRIMARY KEY, name TEXT COLLATE "C" NOT NULL UNIQUE, source TEXT,
        schema TEXT NOT NULL, source_hash TEXT, created_at TEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 1,
        reference TEXT, spec TEXT NOT NULL DEFAULT '{}',
        override INTEGER NOT NULL DEFAULT 0, sandbox INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE TABLE IF NOT EXISTS tools_state (version BIGINT NOT NULL)",
    "INSERT INTO tools_state SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM tools_state)",
    # one number that moves with every write to the tools or MCP servers
    """CREATE OR REPLACE FUNCTION selfedit_tools_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN UPDATE tools_state SET version = version + 1; RETURN NULL;
        END $$""",
    """CREATE OR REPLACE TRIGGER tools_changed AFTER INSERT OR UPDATE OR DELETE ON tools
        FOR EACH STATEMENT EXECUTE FUNCTION selfedit_tools_changed()""",
    """CREATE TABLE IF NOT EXISTS mcp_servers (
        name TEXT COLLATE "C" PRIMARY KEY, config TEXT NOT NULL, tools TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL, version BIGINT NOT NULL DEFAULT 1
    )""",
    """CREATE OR REPLACE TRIGGER mcp_servers_changed AFTER INSERT OR UPDATE OR DELETE
        ON mcp_servers FOR EACH STATEMENT EXECUTE FUNCTION selfedit_tools_changed()""",
    """CREATE TABLE IF NOT EXISTS passages (
        seq BIGSERIAL PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        text TEXT NOT NULL, text_hash TEXT NOT NULL, tags TEXT NOT NULL,
        created_at TEXT NOT NULL,
        embedding vector, dims INTEGER,  -- unit length; dims picks the HNSW index
        text_tsv tsvector GENERATED ALWAYS AS (selfedit_tsvector(text)) STORED,
        UNIQUE (agent_id, text_hash)
    )""",
    # a vector stays in its row when it fits (no TOAST fetch and copy for every distance), and
    # so do the text and its tsvector (no TOAST lookup for every full-text match)
    "ALTER TABLE passages ALTER COLUMN embedding SET STORAGE MAIN",
    "ALTER TABLE passages SET (toast_tuple_target = 8160)",
    "CREATE INDEX IF NOT EXISTS passages_agent ON passages (agent_id, seq)",
    "CREATE INDEX IF NOT EXISTS passages_text ON passages USING GIN (text_tsv)",
    """CREATE TABLE IF NOT EXISTS passage_tags (
        passage_seq BIGINT NOT NULL REFERENCES passages(seq) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (tag, passage_seq)
    )""",
    "CREATE INDEX IF NOT EXISTS passage_tags_seq ON passage_tags (passage_seq)",
)

HNSW_MAX_DIMS = 4000
"""The most dimensions pgvector's HNSW index takes (of ``halfvec``; of ``vector``: 2,000). Wider
vectors are stored and searched exactly, without an index."""
_HNSW = (
    "CREATE INDEX IF NOT EXISTS passages_hnsw_{dims} ON passages USING hnsw "
    "((embedding::halfvec({dims})) halfvec_cosine_ops) WHERE dims = {dims}"
)

MIGRATIONS: dict[int, tuple[str, ...]] = {
    3: (
        # rows written from now on are kept whole (older ones: until rewritten, VACUUM FULL)
        "ALTER TABLE passages SET (toast_tuple_target = 8160)",
        # each float32 HNSW index (of version 2) built again over half-precision vectors
        f"""DO $$ DECLARE old record; BEGIN
            FOR old IN SELECT indexname, substring(indexname FROM '[0-9]+$') AS dims
                FROM pg_indexes WHERE schemaname = current_schema()
                AND indexname LIKE 'passages_hnsw_%' AND indexdef LIKE '% vector_cosine_ops%'
            LOOP
                EXECUTE format('DROP INDEX %I', old.indexname);
                EXECUTE replace('{_HNSW}', '{{dims}}', old.dims);
            END LOOP;
        END $$""",
    ),
}
"""What turns a database of the version before into this one (PostgreSQL starts at 2)."""


def hnsw_index(dims: int) -> str:
    """The HNSW index (cosine) over the passages' vectors of ``dims`` (at most 4,000) dimensions."""
    if dims > HNSW_MAX_DIMS:
        raise ValueError(f"an HNSW index takes at most {HNSW_MAX_DIMS} dimensions, not {dims}")
    return _HNSW.format(dims=dims)


def distance(dims: int) -> str:
    """The cosine distance of a passage's vector of ``dims`` dimensions to a query vector.

    The query vector is its placeholder. Computed as the HNSW index computes it (half precision,
    up to ``HNSW_MAX_DIMS``), so the index serves ``ORDER BY`` it.
    """
    kind = "halfvec" if dims <= HNSW_MAX_DIMS else "vector"
    return f"p.embedding::{kind}({dims}) <=> l2_normalize(?::vector({dims}))::{kind}({dims})"
