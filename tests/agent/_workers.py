"""What the worker processes of ``test_many_clients.py`` run, and the tools those tests register.

A worker is a long-lived Python process (``python -c "import _workers; _workers.serve()"``,
with this folder on ``PYTHONPATH``): it reads one JSON command per line on stdin, opens its own
``Client`` on the database file the command names, runs it, and writes events on stdout, each a
line ``@@ {json}``. Between commands it holds nothing open. While a command runs, the parent can
answer a pause with any line on stdin.

The tools at the bottom are plain functions whose imports sit inside their bodies, so they work
whether a client stores them by reference (``_workers:push_task_out_of_band``) or rebuilds them
from source.
"""

import asyncio
import dataclasses
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from agent import AgentState, Client, ModelRequest, ModelResponse
from agent.testing import FunctionModel, block_real_models, call, calls, send

MARK = "@@ "
"""Starts every event line a worker writes (anything else on stdout is ignored)."""


def emit(event: str, **data: Any) -> None:
    """Tell the parent something."""
    sys.stdout.write(MARK + json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def wait_for_parent() -> None:
    """Block until the parent writes a line."""
    sys.stdin.readline()


# -- what a model request shows ----------------------------------------------------------


def block_value(system: str, label: str) -> str | None:
    """The value of block ``label`` as the system message renders it, or None if absent."""
    found = re.search(rf"<{label}>\n.*?<value>\n(.*?)\n</value>\n</{label}>", system, re.S)
    return found.group(1) if found else None


def shape_problems(messages: list[dict[str, Any]]) -> list[str]:
    """What makes an OpenAI-format history malformed: unanswered or unasked tool calls."""
    problems = [] if messages and messages[0]["role"] == "system" else ["no system message first"]
    waiting: list[str] = []  # ids of the last assistant message's calls, not yet answered
    seen: set[str] = set()
    for index, message in enumerate(messages[1:], start=1):
        role = message["role"]
        if role == "tool":
            if message.get("tool_call_id") not in waiting:
                problems.append(f"message {index}: a tool result nobody asked for")
            else:
                waiting.remove(message["tool_call_id"])
            continue
        if waiting:
            problems.append(f"message {index}: tool calls {waiting} were never answered")
            waiting = []
        if role == "assistant":
            ids = [c["id"] for c in message.get("tool_calls") or []]
            if len(set(ids)) != len(ids) or seen & set(ids):
                problems.append(f"message {index}: duplicate tool call ids {ids}")
            seen.update(ids)
            waiting = ids
    if waiting:
        problems.append(f"the last tool calls {waiting} were never answered")
    return problems


def steps_into_turn(messages: list[dict[str, Any]]) -> int:
    """How many model replies of the current turn the request already holds (0 on its first)."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return sum(1 for m in messages[last_user:] if m["role"] == "assistant")


class Recorder:
    """A model's replies come from ``script``; every request is summarized for the parent."""

    def __init__(self, script: Callable[[ModelRequest, int], Any], label: str) -> None:
        self.script = script
        self.label = label
        self.requests: list[dict[str, Any]] = []
        self.model = FunctionModel(self.reply)

    async def reply(self, request: ModelRequest) -> ModelResponse:
        step = steps_into_turn(request.messages)
        self.requests.append(
            {
                "turn": request.last_user_message,
                "step": step,
                "users": [m["content"] for m in request.messages if m["role"] == "user"],
                "block": block_value(request.messages[0]["content"], self.label),
                "problems": shape_problems(request.messages),
            }
        )
        reply = self.script(request, step)
        return unique_ids(await reply if asyncio.iscoroutine(reply) else reply)


def unique_ids(reply: ModelResponse) -> ModelResponse:
    """The reply with call ids no other process gives (``call`` numbers them per process)."""
    made = [dataclasses.replace(c, id=f"{c.id}-{os.getpid()}") for c in reply.tool_calls]
    return dataclasses.replace(reply, tool_calls=made)


# -- scripts: what the model does in each step of a turn ---------------------------------


def appender(label: str, pause_in_model: list[str]) -> Callable[[ModelRequest, int], Any]:
    """Step 0: append the user's text to ``label``; then send "ok".

    For a user text in ``pause_in_model``, step 0 first says ``paused`` and waits for the
    parent (the turn is open, its model call in flight).
    """

    async def script(request: ModelRequest, step: int) -> ModelResponse:
        content = request.last_user_message
        if step > 0:
            return send("ok")
        if content in pause_in_model:
            emit("paused", turn=content)
            await asyncio.to_thread(wait_for_parent)
        return call("core_memory_append", label=label, content=content)

    return script


def tasks_script(path: str, across_processes: bool) -> Callable[[ModelRequest, int], Any]:
    """Push "first task" through a second client, then "second task" with the task-queue tool."""

    def script(request: ModelRequest, step: int) -> ModelResponse:
        if step == 0:
            return call(
                "push_task_out_of_band",
                task="first task",
                path=path,
                across_processes=across_processes,
            )
        if step == 1:
            return call("task_queue_push", task_description="second task")
        return send("done")

    return script


def doomed_script(label: str) -> Callable[[ModelRequest, int], Any]:
    """Step 0 appends and commits; step 1 appends, inserts a passage, then hangs (to be killed)."""

    def script(request: ModelRequest, step: int) -> ModelResponse:
        if step == 0:
            return call("core_memory_append", label=label, content="kept: step 1")
        return calls(
            ("core_memory_append", {"label": label, "content": "lost: step 2"}),
            ("archival_memory_insert", {"content": "lost passage"}),
            ("hang", {}),
        )

    return script


# -- commands ----------------------------------------------------------------------------


def turns(
    path: str,
    agent_id: str,
    lines: list[str],
    label: str = "human",
    script: str = "append",
    barrier: bool = False,
    pause_in_model: list[str] | None = None,
    pause_before: list[str] | None = None,
    across_processes: bool = False,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One turn per line on ``agent_id``, from a ``Client`` of this process.

    ``barrier``: say ``ready`` once the client is open and wait for the parent's go.
    ``pause_before``: before the turn of such a line, say ``paused`` and wait for the parent.
    """
    scripts = {
        "append": lambda: appender(label, pause_in_model or []),
        "tasks": lambda: tasks_script(path, across_processes),
        "doomed": lambda: doomed_script(label),
    }
    recorder = Recorder(scripts[script](), label)
    stops, elapsed = [], []
    with Client(path, model=recorder.model, **(client or {})) as opened:
        if barrier:
            emit("ready")
            wait_for_parent()
        for line in lines:
            if line in (pause_before or []):
                emit("paused", turn=line)
                wait_for_parent()
            start = time.monotonic()
            response = opened.agents.messages.create(
                agent_id=agent_id, messages=[{"role": "user", "content": line}]
            )
            elapsed.append(time.monotonic() - start)
            stops.append(response.stop_reason)
    return {"stops": stops, "elapsed": elapsed, "requests": recorder.requests}


def modify(path: str, agent_id: str, label: str, value: str) -> dict[str, Any]:
    """Set a block's value as the developer, from a ``Client`` of this process."""
    start = time.monotonic()
    with Client(path) as opened:
        block = opened.agents.blocks.modify(agent_id, block_label=label, value=value)
    return {"value": block.value, "elapsed": time.monotonic() - start}


COMMANDS: dict[str, Callable[..., dict[str, Any]]] = {"turns": turns, "modify": modify}


def serve() -> None:
    """Run commands from stdin until it closes; real model calls are blocked here too."""
    with block_real_models():
        while raw := sys.stdin.readline():
            command = json.loads(raw)
            try:
                result = COMMANDS[command.pop("cmd")](**command)
            except BaseException:
                emit("error", traceback=traceback.format_exc())
            else:
                emit("done", **result)


# -- tools the tests register --------------------------------------------------------------


def push_task_out_of_band(
    agent_state: "AgentState", task: str, path: str, across_processes: bool
) -> str:
    """Push a task onto your own 'tasks' block through a second client (the seed's pattern).

    The seed notebook's task-queue tools do this over HTTP while their own turn is open.

    Args:
        task: The task to push.
        path: The database file the second client opens.
        across_processes: Open the second client in another process instead of this one.
    """
    import json
    import subprocess
    import sys

    if across_processes:
        script = (
            "import json, sys\n"
            "from agent import Client\n"
            "path, agent_id, task = sys.argv[1:]\n"
            "with Client(path) as client:\n"
            "    block = client.agents.blocks.retrieve(agent_id, block_label='tasks')\n"
            "    tasks = json.dumps([*json.loads(block.value), task])\n"
            "    client.agents.blocks.modify(agent_id, block_label='tasks', value=tasks)\n"
        )
        argv = [sys.executable, "-c", script, path, agent_state.id, task]
        subprocess.run(argv, check=True, timeout=60, capture_output=True)
        return "queued from another process"
    from agent import Client

    with Client(path) as client:
        block = client.agents.blocks.retrieve(agent_state.id, block_label="tasks")
        tasks = [*json.loads(block.value), task]
        client.agents.blocks.modify(agent_state.id, block_label="tasks", value=json.dumps(tasks))
    return "queued from a second client"


def hang() -> str:
    """Wait for a very long time (the test kills this process meanwhile)."""
    import json
    import sys
    import time

    sys.stdout.write("@@ " + json.dumps({"event": "hanging"}) + "\n")
    sys.stdout.flush()
    time.sleep(3600)
    return "woke up"
