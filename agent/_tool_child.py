"""The sandbox process: rebuild a stored tool from source, run one call, answer, exit.

Started by ``agent._sandbox`` with ``agent`` loaded as a bare package, so this module imports
only what a call needs: ``toolkit`` and the memory blocks.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from agent._memory import Block, Memory
from agent._tool_spec import Recipe, build
from toolkit import InjectionError, ToolError, ToolResult

__all__ = ["SandboxState", "main"]


class SandboxState:
    """What a sandboxed tool gets as ``agent_state``: the agent's id, name and core memory."""

    def __init__(self, id: str, name: str, memory: Memory) -> None:
        self.id = id
        """The agent's id."""
        self.name = name
        """The agent's name."""
        self.memory = memory
        """Core memory: real blocks, with their limits and read-only flags."""

    @property
    def archival(self) -> Any:
        """Not available in the sandbox."""
        raise ToolError("agent_state.archival is not available to a sandboxed tool")

    @property
    def recall(self) -> Any:
        """Not available in the sandbox."""
        raise ToolError("agent_state.recall is not available to a sandboxed tool")


def _call(sent: dict[str, Any]) -> dict[str, Any]:
    name = str(sent["name"])
    recipe = Recipe(None, sent["source"], sent["function"], options=sent["options"])
    try:
        tool = build(recipe, name)
    except Exception as e:  # the stored source is the user's code: any failure is reported
        return {"status": "error", "built": False, "content": f"{type(e).__name__}: {e}"}
    given = sent["state"]
    state = None
    if given is not None:
        memory = Memory(Block(**fields) for fields in given["blocks"])
        state = SandboxState(given["id"], given["name"], memory)
    injected = {"agent_state": state} if "agent_state" in tool.injected else {}
    try:
        result = tool.invoke(sent["arguments"], **injected)
    except InjectionError as e:
        result = ToolResult("error", f"Error: {e}; a sandboxed tool is given only agent_state")
    blocks = [b.model_dump() for b in state.memory] if state is not None else []
    return {"status": result.status, "content": result.content, "blocks": blocks}


def main() -> None:
    """The child process: read the call from stdin, answer on stdout, exit."""
    text = sys.stdin.buffer.read()
    if not text:  # a spare process that was never used: its parent is gone
        os._exit(0)
    sent = json.loads(text)
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the tool prints goes to stderr, never into the answer
    answer.write(json.dumps(_call(sent)))
    answer.flush()
    os._exit(0)  # threads of a tool that timed out die with the process
