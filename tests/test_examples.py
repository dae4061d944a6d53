"""The examples run in the test suite, so they never rot."""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def examples_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_seed_notebook_offline_end_state(
    examples_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sys.modules.pop("seed_notebook", None)
    import seed_notebook

    state = seed_notebook.main(tmp_path / "seed.db")
    out = capsys.readouterr().out
    assert "scripted model plays plausible replies" in out
    assert state["scratch_memory"]["human"].strip() == "Name: Bob"
    assert state["human"] == "My name is Sarah"
    assert state["passages"] == ["bob loves cats", "Bob's loves boston terriers"]
    assert state["agent_id"] in state["id_reply"]
    assert state["task_tools"] == ["send_message", "task_queue_pop", "task_queue_push"]
    assert state["queued"] == ["start calling me Charles", "tell me a haiku about my name"]
    assert state["tasks"] == []
    assert "🔧 Tool Call: archival_memory_search" in out
    assert "Bob's loves boston terriers" in out


def test_seed_notebook_state_survives_in_its_database(
    examples_on_path: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import seed_notebook

    from agent import Client

    seed_notebook.main(tmp_path / "seed.db")
    capsys.readouterr()
    with Client(tmp_path / "seed.db") as client:
        names = [a.name for a in client.agents.list()]
        assert "simple_agent" in names
        simple = next(a for a in client.agents.list() if a.name == "simple_agent")
        human = client.agents.blocks.retrieve(simple.id, block_label="human")
        assert human.value == "My name is Sarah"


def test_tools_demo_shows_schemas_and_results(
    examples_on_path: None, capsys: pytest.CaptureFixture[str]
) -> None:
    runpy.run_path(str(EXAMPLES / "tools_demo.py"), run_name="__main__")
    out = capsys.readouterr().out
    schemas = json.loads(out.split("\n\n", 1)[1].split("\nCalls as a model")[0])
    assert [s["function"]["name"] for s in schemas] == [
        "roll_dice",
        "convert_temperature",
        "schedule",
        "annotate",
    ]
    assert "-> [error] Error: tool 'roll_dice': invalid arguments" in out
    assert "unknown tool 'send_email'" in out


def test_the_seed_notebook_runs_as_a_script_as_make_demo_runs_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["SELFEDIT_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed_notebook.py")],
        cwd=EXAMPLES.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.rstrip().endswith("tasks: []")
