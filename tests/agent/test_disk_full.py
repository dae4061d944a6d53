"""A real full disk (a small tmpfs): every turn ends cleanly, nothing is lost, space comes back.

Needs permission to mount a tmpfs (root, as on the developers' machines and CI); skipped where
mounting is not allowed. SQLite's own "database is full" is covered without a mount in
``test_step_failures.py``.
"""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent import ModelRequest, ModelResponse
from agent.testing import FunctionModel, call, send


def appender(request: ModelRequest) -> ModelResponse:
    if request.messages[-1]["role"] == "user":
        return call("core_memory_append", label="human", content=request.last_user_message[:8])
    return send("ok")


def user(content: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the disk is full."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY)
    try:
        while True:
            os.write(fd, b"x" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        pass
    os.close(fd)


RESTART = textwrap.dedent(
    """
    import sys
    from agent import Client
    from agent.testing import FunctionModel, call, send

    def appender(request):
        if request.messages[-1]["role"] == "user":
            return call("core_memory_append", label="human", content="restart")
        return send("ok")

    with Client(sys.argv[1], model=FunctionModel(appender)) as client:
        response = client.agents.messages.create(
            agent_id=sys.argv[2], messages=[{"role": "user", "content": "restart"}]
        )
        print(response.stop_reason)
        print(client.agents.blocks.retrieve(sys.argv[2], block_label="human").value)
    """
)


def test_a_full_disk_ends_every_turn_cleanly_and_recovers_after_a_restart(
    small_disk: Path, make_client: Any
) -> None:
    path = small_disk / "agents.db"
    client = make_client(path, model=FunctionModel(appender))
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "", "limit": 10**6}])
    assert client.agents.messages.create(agent_id=agent.id, messages=user("one")).stop_reason == (
        "end_turn"
    )
    filler = small_disk / "filler"
    fill(filler)
    for i in range(4):  # every turn, not only the first
        response = client.agents.messages.create(
            agent_id=agent.id, messages=user(f"full{i} " + "y" * 30_000)
        )
        assert response.stop_reason == "error"
        assert "full" in response.messages[-1].content
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size < 1_000_000
    assert client.agents.blocks.retrieve(agent.id, block_label="human").value == "one"

    filler.unlink()  # space is back: the same client goes on
    assert client.agents.messages.create(agent_id=agent.id, messages=user("two")).stop_reason == (
        "end_turn"
    )
    client.close()
    fill(filler)  # a restarted process on a disk that filled up again, then freed
    filler.unlink()
    restarted = subprocess.run(
        [sys.executable, "-c", RESTART, str(path), agent.id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert restarted.stdout.split("\n")[:2] == ["end_turn", "one"]
    assert restarted.stdout.split("\n")[2:4] == ["two", "restart"]
