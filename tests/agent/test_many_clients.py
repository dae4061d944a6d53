"""Many clients, one truth: real processes on one database (DESIGN.md section 5, issue 8).

Every test runs on both backends (the ``database`` fixture): one SQLite file, or one PostgreSQL
schema that each process reaches over its own connection. Each worker is a separate Python
process that opens its own ``Client`` on the database (see ``_workers.py``). The parent sets
agents up with one client, closes it, and checks the outcome with a fresh one, so what it reads
is what the database holds.
"""

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _workers  # this folder is on sys.path here, and on PYTHONPATH in the workers
import pytest

from agent import AgentBusyError, AsyncClient, Client, Message, ModelRequest, ModelResponse
from agent.testing import FunctionModel, ScriptedModel, call, send

HERE = Path(__file__).parent

TIMEOUT = 30.0
"""The most any one step of a scenario may take before the test fails (not a sleep)."""
TURN = ["user_message", "tool_call_message", "tool_return_message", "assistant_message"]


# -- worker processes ----------------------------------------------------------------------


class Worker:
    """A worker process: send it commands, wait for its events (never longer than TIMEOUT)."""

    def __init__(self, log: Path) -> None:
        paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import _workers; _workers.serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.idle = True
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(_workers.MARK):
                self.events.put(json.loads(line[len(_workers.MARK) :]))
        self.events.put({"event": "exit"})

    def run(self, cmd: str, **args: Any) -> None:
        """Start a command (its result comes as the ``done`` event)."""
        self.idle = False
        self.say(json.dumps({"cmd": cmd, **args}))

    def say(self, line: str = "go") -> None:
        """Write a line to the worker (the answer to ``paused`` or ``ready``)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, event: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The worker's next event, which must be ``event``."""
        try:
            got = self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"worker {self.pid}: no {event!r} within {timeout} s") from None
        if got["event"] == "error":
            self.idle = True
            raise AssertionError(f"worker {self.pid} failed:\n{got['traceback']}")
        if got["event"] == "exit":
            raise AssertionError(f"worker {self.pid} exited:\n{self.stderr()}")
        assert got["event"] == event, f"worker {self.pid}: expected {event!r}, got {got}"
        if event == "done":
            self.idle = True
        return got

    def stderr(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]

    def kill(self) -> None:
        """``kill -9``, and release everything the process object holds."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.reader.join(timeout=10)  # the process is gone: its stdout is at its end
        self.proc.stdout.close()
        self.log.close()


class Pool:
    """Worker processes shared by the tests of this module (starting Python takes a second)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.idle: list[Worker] = []
        self.count = 0

    def take(self, n: int) -> list[Worker]:
        while len(self.idle) < n:
            self.count += 1
            self.idle.append(Worker(self.logs / f"worker-{self.count}.log"))
        taken, self.idle = self.idle[:n], self.idle[n:]
        return taken

    def give_back(self, workers: list[Worker]) -> None:
        """Keep workers that finished their command; kill any stuck in one."""
        for worker in workers:
            if worker.idle and worker.proc.poll() is None:
                self.idle.append(worker)
            else:
                worker.kill()

    def close(self) -> None:
        for worker in self.idle:  # every worker ends when its stdin does: end them together
            assert worker.proc.stdin is not None
            worker.proc.stdin.close()
        for worker in self.idle:
            worker.stop()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    made = Pool(tmp_path_factory.mktemp("worker-logs"))
    made.give_back(made.take(4))  # start them together: they import in parallel
    yield made
    made.close()


@pytest.fixture
def workers(pool: Pool) -> Iterator[Callable[[int], list[Worker]]]:
    """``workers(n)``: n idle worker processes, returned to the pool (or killed) afterwards."""
    taken: list[Worker] = []

    def take(n: int) -> list[Worker]:
        got = pool.take(n)
        taken.extend(got)
        return got

    yield take
    pool.give_back(taken)


# -- setting up and checking ---------------------------------------------------------------


def user(content: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def new_agent(path: str, **kwargs: Any) -> str:
    """Create an agent with a fresh client that is closed at once; its id."""
    kwargs.setdefault("memory_blocks", [{"label": "human", "value": "", "limit": 100_000}])
    with Client(path, model=ScriptedModel()) as client:
        return client.agents.create(**kwargs).id


def block(path: str, agent_id: str, label: str = "human") -> str:
    """What the database holds, read by a client that has never seen the agent."""
    with Client(path, model=ScriptedModel()) as client:
        return client.agents.blocks.retrieve(agent_id, block_label=label).value


def history(path: str, agent_id: str) -> list[Message]:
    with Client(path, model=ScriptedModel()) as client:
        return client.agents.messages.list(agent_id=agent_id)


def assert_whole_turns(messages: list[Message], label: str = "human") -> list[str]:
    """Every turn is user, append of that user's text, its result, "ok"; the users, in order."""
    assert len(messages) % 4 == 0, [m.message_type for m in messages]
    users = []
    for start in range(0, len(messages), 4):
        turn = messages[start : start + 4]
        assert [m.message_type for m in turn] == TURN, f"turn at {start} is interleaved: {turn}"
        asked, done, returned, said = turn
        assert json.loads(done.tool_call.arguments) == {"label": label, "content": asked.content}
        assert returned.tool_call_id == done.tool_call.tool_call_id
        assert returned.status == "success", returned.tool_return
        assert said.content == "ok"
        users.append(asked.content)
    return users


def assert_requests_fresh(requests: list[dict[str, Any]], order: list[str], label: str) -> None:
    """Each request of an appending turn shows every earlier turn, and the block as it was."""
    for request in requests:
        assert request["problems"] == [], request
        k = order.index(request["turn"])
        assert request["users"] == order[: k + 1], f"turn {k} saw other users: {request}"
        written = order[: k + (1 if request["step"] else 0)]
        assert request["block"] == "\n".join(written), f"stale {label!r} in turn {k}: {request}"


def run_appenders(
    workers: list[Worker], path: str, agent_ids: list[str], per_worker: int, label: str
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Every worker appends its own lines on its agent at the same time; lines and results."""
    lines = [[f"w{w}:{i:03d}" for i in range(per_worker)] for w in range(len(workers))]
    for worker, agent_id, own in zip(workers, agent_ids, lines, strict=True):
        worker.run("turns", path=path, agent_id=agent_id, lines=own, label=label, barrier=True)
    for worker in workers:
        worker.expect("ready")
    for worker in workers:
        worker.say()
    results = [w.expect("done") for w in workers]
    for result in results:
        assert set(result["stops"]) == {"end_turn"}
    return lines, results


# -- 1. one agent, many processes ----------------------------------------------------------


@pytest.mark.parametrize(("processes", "turns"), [(2, 20), (4, 15)])
def test_one_agent_from_many_processes_loses_nothing_and_never_interleaves(
    workers: Callable[[int], list[Worker]], database: str, processes: int, turns: int
) -> None:
    path = database
    agent_id = new_agent(path)
    lines, results = run_appenders(workers(processes), path, [agent_id] * processes, turns, "human")

    final = block(path, agent_id).split("\n")
    assert Counter(final) == Counter(x for own in lines for x in own)  # 0 lost, 0 doubled
    for own in lines:  # each process's edits land in the order it made them
        assert [x for x in final if x in own] == own
    order = assert_whole_turns(history(path, agent_id))
    assert order == final  # the block grew in the order the turns ran
    for result in results:  # every model saw the whole conversation and the current block
        assert_requests_fresh(result["requests"], order, "human")


# -- 2. an admin edit from another process -------------------------------------------------


def test_an_admin_edit_from_another_process_is_seen_and_never_reverted(
    workers: Callable[[int], list[Worker]], database: str
) -> None:
    path = database
    agent_id = new_agent(
        path, memory_blocks=[{"label": "human", "value": "Name: Bob", "limit": 100_000}]
    )
    long_running, admin = workers(2)
    lines = [f"fact {i}" for i in range(10)]
    edits = {"fact 3": "Name: Robert", "fact 6": "Name: Robert\nLikes: tea"}
    long_running.run(
        "turns",
        path=path,
        agent_id=agent_id,
        lines=lines,
        pause_in_model=["fact 3"],  # mid-turn: its first model call is in flight
        pause_before=["fact 6"],  # between turns
    )
    for turn, value in edits.items():
        assert long_running.expect("paused")["turn"] == turn
        admin.run("modify", path=path, agent_id=agent_id, label="human", value=value)
        try:
            edited = admin.expect("done", timeout=10)  # block writes never wait for a turn
        finally:
            long_running.say()
        assert edited["value"] == value
    result = long_running.expect("done")
    assert set(result["stops"]) == {"end_turn"}

    value, expected = "Name: Bob", []  # what each request must show, step by step
    for line in lines:
        if line == "fact 6":
            value = edits["fact 6"]
        expected.append((line, 0, value))
        if line == "fact 3":
            value = edits["fact 3"]  # landed while step 0 was thinking
        value += "\n" + line  # the append is applied to the value current when it commits
        expected.append((line, 1, value))
    seen = [(r["turn"], r["step"], r["block"]) for r in result["requests"]]
    assert seen == expected
    assert block(path, agent_id) == "Name: Robert\nLikes: tea\nfact 6\nfact 7\nfact 8\nfact 9"
    assert assert_whole_turns(history(path, agent_id)) == lines


# -- 3. a block shared by two agents -------------------------------------------------------


def test_a_shared_block_edited_from_two_processes_loses_nothing(
    workers: Callable[[int], list[Worker]], database: str
) -> None:
    path = database
    with Client(path, model=ScriptedModel()) as client:
        first = client.agents.create(memory_blocks=[{"label": "team", "limit": 100_000}])
        team = client.agents.blocks.retrieve(first.id, block_label="team")
        second = client.agents.create(memory_blocks=[team])  # the same block, by its id
        assert client.agents.blocks.retrieve(second.id, block_label="team").id == team.id
    lines, results = run_appenders(workers(2), path, [first.id, second.id], 20, "team")

    final = block(path, first.id, "team")
    assert block(path, second.id, "team") == final
    with Client(path, model=ScriptedModel()) as client:
        assert client.blocks.retrieve(team.id).value == final
    final_lines = final.split("\n")
    assert Counter(final_lines) == Counter(x for own in lines for x in own)
    for own, result in zip(lines, results, strict=True):
        assert [x for x in final_lines if x in own] == own
        for request in result["requests"]:  # a view is some earlier state, never a stale mix
            assert request["problems"] == []
            shown = request["block"].split("\n") if request["block"] else []
            assert shown == final_lines[: len(shown)], request
            if request["step"]:
                assert request["turn"] in shown, request  # its own edit, committed
    for agent_id, own in ((first.id, lines[0]), (second.id, lines[1])):
        assert assert_whole_turns(history(path, agent_id), "team") == own


# -- 4. a tool that edits its own agent through a second client ----------------------------


@pytest.mark.parametrize("across_processes", [False, True], ids=["in-process", "other-process"])
def test_a_tool_editing_its_own_agent_through_a_second_client(
    workers: Callable[[int], list[Worker]], database: str, across_processes: bool
) -> None:
    path = database
    with Client(path, model=ScriptedModel()) as client:
        stored = client.tools.upsert_from_function(func=_workers.push_task_out_of_band)
        agent_id = client.agents.create(
            memory_blocks=[
                {"label": "human", "value": "Name: Bob"},
                {"label": "tasks", "value": "[]"},
            ],
            tools=["task_queue_push"],
            tool_ids=[stored.id],
        ).id
    (worker,) = workers(1)
    worker.run(
        "turns",
        path=path,
        agent_id=agent_id,
        lines=["queue two tasks"],
        label="tasks",
        script="tasks",
        across_processes=across_processes,
    )
    result = worker.expect("done")  # no deadlock: the second client never waits for the turn
    assert result["stops"] == ["end_turn"]
    shown = [(r["step"], r["block"]) for r in result["requests"]]
    assert shown == [
        (0, "[]"),
        (1, '["first task"]'),  # the next request of the same turn sees the edit
        (2, '["first task", "second task"]'),  # and the turn's own edit builds on it
    ]
    assert block(path, agent_id, "tasks") == '["first task", "second task"]'
    returns = [m for m in history(path, agent_id) if m.message_type == "tool_return_message"]
    assert [r.status for r in returns] == ["success", "success"], returns  # push, push


# -- 5. kill -9 while the lease is held -----------------------------------------------------


def test_the_next_client_proceeds_at_once_after_the_lease_holder_is_killed(
    workers: Callable[[int], list[Worker]], database: str
) -> None:
    path = database
    with Client(path, model=ScriptedModel()) as client:
        stored = client.tools.upsert_from_function(func=_workers.hang)
        agent_id = client.agents.create(
            memory_blocks=[{"label": "human", "limit": 100_000}], tool_ids=[stored.id]
        ).id
    doomed, survivor = workers(2)
    lease = {"lease_ttl": 60.0, "lease_wait": TIMEOUT}
    doomed.run(
        "turns", path=path, agent_id=agent_id, lines=["doomed"], script="doomed", client=lease
    )
    doomed.expect("hanging")  # step 1 committed; step 2 appended, inserted, and now hangs
    doomed.kill()
    survivor.run("turns", path=path, agent_id=agent_id, lines=["after"], client=lease)
    result = survivor.expect("done")

    assert result["stops"] == ["end_turn"]
    assert result["elapsed"][0] < 5.0  # the owner is provably dead: no waiting out its 60 s
    first = result["requests"][0]
    assert first["problems"] == []
    assert first["block"] == "kept: step 1"
    assert block(path, agent_id) == "kept: step 1\nafter"
    with Client(path, model=ScriptedModel()) as client:
        passages = client.agents.passages.list(agent_id=agent_id)
    assert [p.text for p in passages] == []  # the unfinished step's insert left nothing
    messages = history(path, agent_id)
    kinds = [m.message_type for m in messages]
    assert kinds == ["user_message", "tool_call_message", "tool_return_message", *TURN]
    assert messages[2].tool_call_id == messages[1].tool_call.tool_call_id
    assert assert_whole_turns(messages[3:]) == ["after"]


# -- 6. several clients in one process -----------------------------------------------------


def appending(label: str, seen: list[tuple[str, int, str | None]]) -> FunctionModel:
    """Append the user's text to ``label``, then say "ok"; record each request's view."""

    def reply(request: ModelRequest) -> ModelResponse:
        step = _workers.steps_into_turn(request.messages)
        system = request.messages[0]["content"]
        seen.append((str(request.last_user_message), step, _workers.block_value(system, label)))
        if step:
            return send("ok")
        return call("core_memory_append", label=label, content=request.last_user_message)

    return FunctionModel(reply)


def test_two_clients_taking_strict_turns_lose_no_edit(database: str) -> None:
    path = database
    agent_id = new_agent(path)
    seen: list[tuple[str, int, str | None]] = []
    lines = []
    with (
        Client(path, model=appending("human", seen)) as one,
        Client(path, model=appending("human", seen)) as two,
    ):
        for i in range(10):
            for name, client in (("one", one), ("two", two)):
                lines.append(f"{name}:{i}")
                response = client.agents.messages.create(
                    agent_id=agent_id, messages=user(lines[-1])
                )
                assert response.stop_reason == "end_turn"
        for client in (one, two):  # each client reads what the database holds
            assert client.agents.blocks.retrieve(agent_id, block_label="human").value == "\n".join(
                lines
            )
    assert block(path, agent_id) == "\n".join(lines)
    assert assert_whole_turns(history(path, agent_id)) == lines
    expected = []
    for k, line in enumerate(lines):
        expected += [(line, 0, "\n".join(lines[:k])), (line, 1, "\n".join(lines[: k + 1]))]
    assert seen == expected


async def test_concurrent_turns_from_two_async_clients_in_one_loop_serialize(
    database: str,
) -> None:
    path = database
    agent_id = new_agent(path)
    active, most = 0, 0

    async def reply(request: ModelRequest) -> ModelResponse:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.005)  # give the other client's turn every chance to cut in
        active -= 1
        if request.messages[-1]["role"] == "user":
            return call("core_memory_append", label="human", content=request.last_user_message)
        return send("ok")

    clients = [AsyncClient(path, model=FunctionModel(reply), lease_wait=TIMEOUT) for _ in range(2)]
    try:
        lines = [(c, f"c{c}:{i}") for i in range(8) for c in range(2)]
        turns = [
            clients[c].agents.messages.create(agent_id=agent_id, messages=user(line))
            for c, line in lines
        ]
        responses = await asyncio.wait_for(asyncio.gather(*turns), TIMEOUT)
    finally:
        for client in clients:
            client.close()
    assert {r.stop_reason for r in responses} == {"end_turn"}
    assert most == 1  # one model call at a time: the turns never overlapped
    final = block(path, agent_id).split("\n")
    assert sorted(final) == sorted(line for _, line in lines)
    assert assert_whole_turns(history(path, agent_id)) == final


# -- 7. lease_wait bounds the wait ---------------------------------------------------------


def test_a_turn_waits_at_most_lease_wait_then_names_the_agent_and_the_holder(
    workers: Callable[[int], list[Worker]], database: str
) -> None:
    path = database
    agent_id = new_agent(path)
    (holder,) = workers(1)
    holder.run("turns", path=path, agent_id=agent_id, lines=["held"], pause_in_model=["held"])
    holder.expect("paused")  # its turn is open, its model thinking
    seen: list[tuple[str, int, str | None]] = []
    with Client(path, model=appending("human", seen), lease_wait=0.5) as client:
        start = time.monotonic()
        try:
            with pytest.raises(AgentBusyError, match=agent_id) as busy:
                client.agents.messages.create(agent_id=agent_id, messages=user("too early"))
        finally:
            waited = time.monotonic() - start
            holder.say()
        assert 0.45 <= waited < 5.0
        assert str(holder.pid) in str(busy.value) or socket.gethostname() in str(busy.value)
        assert holder.expect("done")["stops"] == ["end_turn"]
        response = client.agents.messages.create(agent_id=agent_id, messages=user("afterwards"))
        assert response.stop_reason == "end_turn"
    assert seen[0] == ("afterwards", 0, "held")  # the refused turn never reached the model
    assert block(path, agent_id) == "held\nafterwards"
    assert assert_whole_turns(history(path, agent_id)) == ["held", "afterwards"]
