"""The seed notebook's custom memory: a task queue kept as a JSON list in a ``tasks`` block.

This is how a developer writes a custom memory tool: an ordinary function that edits
``agent_state.memory`` directly. The edit is checked against the block's limit, persisted if
the tool succeeds, and undone if it fails. Not in the base tool set: add these by name
(``tools=["task_queue_push", "task_queue_pop"]``) or copy them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from toolkit import ToolError, tool

if TYPE_CHECKING:
    from agent import AgentState

__all__ = ["task_queue_pop", "task_queue_push"]


def _tasks(agent_state: AgentState) -> list[str]:
    if "tasks" not in agent_state.memory:
        raise ToolError("There is no 'tasks' memory block to keep a task queue in.")
    value = agent_state.memory.get_block("tasks").value or "[]"
    try:
        tasks = json.loads(value)
    except json.JSONDecodeError:
        raise ToolError("The 'tasks' block does not hold a JSON list; fix it first.") from None
    if not isinstance(tasks, list):
        raise ToolError("The 'tasks' block does not hold a JSON list; fix it first.")
    return [str(t) for t in tasks]


@tool
def task_queue_push(agent_state: AgentState, task_description: str) -> str:
    """Push a task to the end of the task queue kept in core memory.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        task_description: A description of the next task you must accomplish.
    """
    tasks = _tasks(agent_state)
    tasks.append(task_description)
    agent_state.memory.update_block_value("tasks", json.dumps(tasks))
    return f"Queued. {len(tasks)} task(s) in the queue."


@tool
def task_queue_pop(agent_state: AgentState) -> str:
    """Take the next task from the front of the task queue kept in core memory.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
    """
    tasks = _tasks(agent_state)
    if not tasks:
        return "The task queue is empty."
    task, remaining = tasks[0], tasks[1:]
    agent_state.memory.update_block_value("tasks", json.dumps(remaining))
    return f"Next task: {task}\nRemaining tasks: {json.dumps(remaining)}"
