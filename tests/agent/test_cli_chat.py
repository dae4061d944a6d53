"""``selfedit chat``, ``selfedit agents list`` and ``selfedit agents show``."""

import io
from pathlib import Path

import pytest

from agent import Client
from agent._cli import main
from agent.testing import ScriptedModel, send


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def chat(db: Path, lines: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    return main(["chat", "--db", str(db), *args])


def test_chat_without_a_key_uses_the_offline_model_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status = chat(tmp_path / "db", "hello there\n/quit\n", monkeypatch, "--agent", "sam")
    out, err = capsys.readouterr()
    assert status == 0
    assert "No OPENAI_API_KEY set" in err
    assert "created agent 'sam'" in out
    assert "🤖 Agent: (offline model, no API key) You said: hello there" in out
    assert "Stop reason: end_turn" in out


def test_chat_continues_the_same_agent_across_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat(tmp_path / "db", "first\n", monkeypatch, "--agent", "sam")
    chat(tmp_path / "db", "second\n", monkeypatch, "--agent", "sam")
    out = capsys.readouterr().out
    assert out.count("created agent") == 1
    with Client(tmp_path / "db") as client:
        (state,) = client.agents.list()
        texts = [m.content for m in client.agents.messages.list(agent_id=state.id)]
    assert texts[0] == "first"
    assert "second" in texts


def test_chat_model_changes_an_existing_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat(tmp_path / "db", "first\n", monkeypatch, "--agent", "sam")
    chat(tmp_path / "db", "again\n", monkeypatch, "--agent", "sam", "--model", "openai/gpt-4o")
    err = capsys.readouterr().err
    assert "agent 'sam': model changed from openai/gpt-4o-mini to openai/gpt-4o" in err
    with Client(tmp_path / "db") as client:
        (state,) = client.agents.list()
    assert state.model == "openai/gpt-4o"
    chat(tmp_path / "db", "more\n", monkeypatch, "--agent", "sam", "--model", "openai/gpt-4o")
    chat(tmp_path / "db", "more\n", monkeypatch, "--agent", "sam")  # no --model: kept
    assert "model changed" not in capsys.readouterr().err
    with Client(tmp_path / "db") as client:
        assert client.agents.list()[0].model == "openai/gpt-4o"


def test_agents_list_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "db"
    with Client(db, model=ScriptedModel([send("Hi Bob!")])) as client:
        state = client.agents.create(
            name="helper", memory_blocks=[{"label": "human", "value": "Name: Bob"}]
        )
        client.agents.messages.create(
            agent_id=state.id, messages=[{"role": "user", "content": "hello"}]
        )
    assert main(["agents", "list", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert state.id in listed and "helper" in listed and "1 blocks" in listed
    assert main(["agents", "show", "helper", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "Name: Bob" in shown
    assert "👤 User Message: hello" in shown
    assert "🤖 Agent: Hi Bob!" in shown


def test_agents_show_an_unknown_agent_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agents", "show", "nobody", "--db", str(tmp_path / "db")]) == 2
    assert "no agent named 'nobody'" in capsys.readouterr().err
