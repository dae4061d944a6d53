"""The command line never shows a traceback for something a user can cause."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import Client, ModelRequest, ModelResponse
from agent.testing import FunctionModel, send

ROOT = Path(__file__).parent.parent


def selfedit(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | env
    return subprocess.run(
        [sys.executable, "-m", "agent._cli", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert says in done.stderr


def test_version() -> None:
    done = selfedit("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("selfedit ")


def test_a_missing_file(tmp_path: Path) -> None:
    refused(selfedit("schema", str(tmp_path / "nope.py")), "no such file")


def test_a_file_with_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n    pass\n")
    refused(selfedit("schema", str(broken)), "broken.py, line 1")


def test_a_module_that_does_not_exist() -> None:
    refused(selfedit("schema", "no_such_module_here"), "no file or module named")


def test_a_file_imports_its_sibling_modules(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("GREETING = 'hi'\n")
    (tmp_path / "mytools.py").write_text(
        "from helpers import GREETING\nfrom toolkit import tool\n\n\n@tool\n"
        "def greet(name: str) -> str:\n    '''Greet someone.\n\n    Args:\n"
        "        name: Who.\n    '''\n    return f'{GREETING} {name}'\n"
    )
    done = selfedit("schema", str(tmp_path / "mytools.py"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"name": "greet"' in done.stdout


def test_a_package_of_the_current_directory_by_its_name() -> None:
    done = selfedit("schema", "stdlib_tools")  # a directory of that name is in the repo root
    assert done.returncode == 0, done.stderr
    assert '"name": "send_message"' in done.stdout


def test_a_foreign_database_and_a_file_that_is_no_database(tmp_path: Path) -> None:
    foreign = tmp_path / "shop.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    refused(selfedit("agents", "list", "--db", str(foreign)), "is not a selfedit database")
    text = tmp_path / "notes.txt"
    text.write_text("just some notes, long enough to not look like an empty file\n" * 20)
    refused(selfedit("agents", "list", "--db", str(text)), "cannot be opened as a database")


def test_a_home_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = selfedit("agents", "list", SELFEDIT_HOME=str(blocker / "home"))
    refused(done, str(blocker))


def test_ctrl_c_at_the_chat_prompt_exits_130(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-u", "-m", "agent._cli", "chat", "--db", str(tmp_path / "c.db")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
        # a background job inherits SIGINT ignored; the chat must get it as a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as chat:
        assert chat.stdout is not None and chat.stderr is not None
        seen = b""
        while not seen.endswith(b"you> "):
            byte = chat.stdout.read(1)
            assert byte, chat.stderr.read().decode()
            seen += byte
        for _ in range(10):  # a signal landing just before input() blocks waits for the next
            chat.send_signal(signal.SIGINT)
            try:
                chat.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
        assert chat.wait(timeout=5) == 130
        error = chat.stderr.read().decode()
    assert "Traceback" not in error and "interrupted" in error


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here, even where it was inherited ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_during_a_turn_leaves_the_agent_usable(tmp_path: Path) -> None:
    async def slow(request: ModelRequest) -> ModelResponse:
        if request.last_user_message == "first":  # Ctrl-C while the model is working
            # to the main thread itself: a process-wide signal may land on another thread
            # (BLAS workers of earlier tests) and wait until the turn is over
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        await asyncio.sleep(0.5)
        return send("done")

    with Client(tmp_path / "db.sqlite", model=FunctionModel(slow), lease_wait=2) as client:
        agent = client.agents.create()
        with pytest.raises(KeyboardInterrupt):
            client.agents.messages.create(
                agent_id=agent.id, messages=[{"role": "user", "content": "first"}]
            )
        response = client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "second"}]
        )
        assert response.stop_reason == "end_turn"
        kinds = [m.message_type for m in client.agents.messages.list(agent_id=agent.id)]
        assert kinds == ["user_message", "user_message", "assistant_message"]


def test_an_unreachable_model_server_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "agent._cli", "chat", "--db", str(tmp_path / "c.db"),
            "--base-url", "http://127.0.0.1:9/v1", "--model", "openai/local",
        ],
        cwd=ROOT,
        input="hi\n/exit\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if "The model call failed" in line]
    assert len(failed) == 1 and "Connection" in failed[0]
