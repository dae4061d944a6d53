"""``selfedit db copy``: SQLite -> PostgreSQL -> the same answers to the same questions.

The source is built through the public client (agents, shared blocks, a turn's history, a
summary, passages with vectors and tags, a stored tool); the copy runs as the real command in a
new process; both databases are then asked the same searches.
"""

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _postgres import drop_schema, fresh_url

from agent import AsyncClient
from agent._recall import RecallMemory
from agent.testing import FakeEmbedding, ScriptedModel, call, send
from toolkit import tool

EMBEDDING = "fake/hashed-words"
TEXTS = [
    "Bob loves cats and has two of them.",
    "Bob plays the cello on Thursdays.",
    "Bob drinks green tea in the morning.",
    "Alice teaches chemistry in Lisbon.",
    "The cello was built in 1920 in Cremona.",
]


@tool
def shout(text: str) -> str:
    """Say it louder.

    Args:
        text: What to say.
    """
    return text.upper()


def selfedit(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, in a new process."""
    command = [sys.executable, "-c", "from agent._cli import main; raise SystemExit(main())"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


async def build(path: str) -> str:
    """A SQLite database with one of everything; the agent's id."""
    model = ScriptedModel([call("core_memory_append", label="human", content="Likes cello."),
                           send("Noted.")])  # fmt: skip
    client = AsyncClient(path, model=model, embedding=FakeEmbedding())
    try:
        await client.tools.upsert_from_function(func=shout)
        shared = await client.blocks.create(label="team", value="The cello quartet.")
        agent = await client.agents.create(
            name="bob",
            memory_blocks=[{"label": "human", "value": "Bob."}],
            tools=["shout"],
            model="openai/gpt-4o-mini",
            embedding=EMBEDDING,
        )
        await client.agents.blocks.attach(agent.id, block_id=shared.id)
        for i, text in enumerate(TEXTS):
            await client.agents.passages.create(agent_id=agent.id, text=text, tags=[f"t{i % 2}"])
        await client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "I play the cello"}]
        )
        return agent.id
    finally:
        client.close()


async def answers(target: str, agent_id: str) -> dict[str, Any]:
    """What a client sees of the agent: state, history, and the searches."""
    client = AsyncClient(target, embedding=FakeEmbedding())
    try:
        state = await client.agents.retrieve(agent_id=agent_id)
        archive = client.archival(agent_id, EMBEDDING)
        hybrid = await archive.search("who plays the cello", page_size=3)
        tagged = await archive.search("Bob", tags=["t0"], page_size=10)
        recall = await RecallMemory(client.store, agent_id).search("cello")
        history = await client.agents.messages.list(agent_id=agent_id, limit=100)
        return {
            "blocks": [(b.label, b.value) for b in state.memory.blocks],
            "tools": sorted(t.name for t in state.tools),
            "history": [(m.message_type, m.id) for m in history],
            "hybrid": (hybrid.total, [p.text for p in hybrid.results[:1]]),
            "tagged": (tagged.total, sorted(p.text for p in tagged.results)),
            "recall": sorted(m.id for m in recall.results),
            "embedded": all(p.embedded for p in archive.passages()),
            "stored tools": [t.name for t in await client.tools.list()],
        }
    finally:
        client.close()


@pytest.fixture
def postgres_url() -> Any:
    url = fresh_url()
    yield url
    drop_schema(url)


async def test_a_sqlite_database_copied_into_postgres_answers_the_same(
    tmp_path: Path, postgres_url: str
) -> None:
    source = str(tmp_path / "agents.db")
    agent_id = await build(source)
    done = selfedit("db", "copy", source, postgres_url)
    assert done.returncode == 0, done.stderr
    assert "MISMATCH" not in done.stdout
    counts = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:]}
    assert counts["passages"] == ["5", "->", "5"] and counts["agents"] == ["1", "->", "1"]
    with psycopg.connect(postgres_url) as conn:  # built once, at the end of the copy
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        ).fetchall()
    assert ("passages_hnsw_256",) in indexes
    before, after = await answers(source, agent_id), await answers(postgres_url, agent_id)
    assert after == before
    assert before["hybrid"][1] == ["Bob plays the cello on Thursdays."]
    assert before["tagged"][0] == 3 and before["embedded"]
    assert "shout" in before["tools"] and before["stored tools"] == ["shout"]
    # and back again: PostgreSQL -> a new SQLite file
    back = str(tmp_path / "back.db")
    assert selfedit("db", "copy", postgres_url, back).returncode == 0
    assert await answers(back, agent_id) == before


async def test_copying_into_a_database_that_is_not_empty_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    source = str(tmp_path / "agents.db")
    await build(source)
    assert selfedit("db", "copy", source, postgres_url).returncode == 0
    again = selfedit("db", "copy", source, postgres_url)
    assert again.returncode == 2
    assert "is not empty (it holds agents, blocks, tools)" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_missing_source_file_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    done = selfedit("db", "copy", str(tmp_path / "nope.db"), str(tmp_path / "out.db"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: no database file {str(tmp_path / 'nope.db')!r}"
    assert not (tmp_path / "out.db").exists()
