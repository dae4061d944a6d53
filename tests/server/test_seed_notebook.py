"""The seed notebook's Letta cells, with the real letta_client, against a real server process.

The notebook's code is ``examples/seed_letta_client.py``; its tools hard-code port 8283, so
here the file runs with the base URL (in the cells and in the tools' source) switched to the
test server's free port. The model is the seed's scripted story (``--stand-in``).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from _serving import EXAMPLES, Serve, letta
from letta_client import Letta

SOURCE = (EXAMPLES / "seed_letta_client.py").read_text()


def run_notebook(base_url: str, tmp_path: Path) -> str:
    script = tmp_path / "seed_letta_client.py"
    script.write_text(SOURCE.replace("http://localhost:8283", base_url))
    (tmp_path / "task_queue_system_prompt.txt").write_text(
        (EXAMPLES / "task_queue_system_prompt.txt").read_text()
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_notebook_cells_end_states(serve: Serve, tmp_path: Path, database: str) -> None:
    base_url = serve("--db", database)  # a SQLite file, or a real PostgreSQL
    out = run_notebook(base_url, tmp_path)
    with letta(base_url) as client:
        check_end_states(client, out)


def check_end_states(client: Letta, out: str) -> None:
    agents = {a.name: a for a in client.agents.list()}
    simple = agents["simple_agent"]
    # Charles -> Sarah, through core_memory_replace in the second turn
    assert client.agents.blocks.retrieve(simple.id, block_label="human").value == "My name is Sarah"
    assert "🤖 Agent: Going great, Charles!" in out
    # passages listed, archival search finds them
    texts = [p.text for p in client.agents.passages.list(agent_id=simple.id)]
    assert texts == ["bob loves cats", "Bob's loves boston terriers"]
    assert "🔧 Tool Call: archival_memory_search" in out
    search = out.split("🔧 Tool Call: archival_memory_search")[1]
    assert "🔧 Tool Return: " in search and "boston terriers" in search
    # messages.list shows the user's text and the reply
    listed = client.agents.messages.list(agent_id=simple.id)
    kinds = [(m.message_type, getattr(m, "content", None)) for m in listed]
    assert ("user_message", "What animals do I like? Search archival.") in kinds
    assert kinds[-1][0] == "assistant_message"
    # the placeholder block id is a 404; the prompt template is printed
    assert "status_code: 404" in out and "Block not found" in out
    # get_agent_id returns the agent's id, streamed
    id_agent = next(
        a for a in client.agents.list() if [t.name for t in a.tools][-1:] == ["get_agent_id"]
    )
    assert f"🔧 Tool Return: {id_agent.id}" in out
    assert f"🤖 Agent: My agent id is {id_agent.id}" in out
    # the task queue: [] -> two tasks -> [] through the tools' own HTTP calls
    assert "['send_message', 'task_queue_pop', 'task_queue_push']" in out
    lines = out.splitlines()
    assert lines[-1] == "[]"
    assert '["start calling me Charles", "tell me a haiku about my name"]' in lines
    assert "🔧 Tool Return: Remaining tasks []" in out
    # streamed chunk types, and the usage chunk last in each stream
    assert out.count("Usage: [message_type='usage_statistics'") == 3
    assert "🔧 Tool Call: task_queue_push" in out


def test_the_example_runs_as_written_on_port_8283(serve: Serve, tmp_path: Path) -> None:
    try:
        serve(port=8283)
    except (RuntimeError, TimeoutError):
        pytest.skip("port 8283 is taken on this machine")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed_letta_client.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "[]"
    assert "🔧 Tool Return: Remaining tasks []" in done.stdout
