"""Running a source-only tool in a separate Python process.

Each call starts a new interpreter (``python -I``: no user site, no ``PYTHON*`` variables,
no current directory on the path) in an empty temporary directory, with only the environment
variables the sandbox is given. The parent sends the tool's stored source, its options, the
model's arguments and the agent's memory blocks as JSON on stdin. The child rebuilds real
``Block`` and ``Memory`` objects (so limits and read-only hold there too), runs the tool, and
answers on stdout with the result and the blocks as they ended. The parent applies the edits
through the same checked path a tool in-process uses (``Memory.update_block_value``,
``Memory.add_block``); the engine undoes them if the call failed. A call that outlives the
timeout is killed with its whole process group; a child that dies without answering is a tool
error.

The sandbox is a process boundary, not a jail: it keeps the tool away from this process's
memory, secrets in its environment and the agent's objects, not from the file system or the
network.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import toolkit
from agent._memory import Block, Memory
from agent._tool_spec import Recipe, build
from toolkit import InjectionError, ToolError, ToolResult

if TYPE_CHECKING:
    from agent._state import AgentState

__all__ = ["Sandbox", "SandboxState", "apply", "child", "request"]

_AGENT = str(Path(__file__).parent)
_ROOTS = sorted({str(Path(_AGENT).parent), str(Path(toolkit.__file__).parent.parent)})

# The child loads ``agent`` as a bare package: its ``__init__`` (the client, the OpenAI SDK:
# a second of imports) runs only if the tool itself imports from ``agent``.
_BOOT = f"""\
import sys, types
sys.path[:0] = {_ROOTS!r}
package = types.ModuleType("agent")
package.__path__ = [{_AGENT!r}]
package.__file__ = {_AGENT + "/__init__.py"!r}

def _finish(name):
    del package.__getattr__
    with open(package.__file__) as f:
        exec(compile(f.read(), package.__file__, "exec"), package.__dict__)
    return getattr(package, name)

package.__getattr__ = _finish
sys.modules["agent"] = package
from agent._sandbox import child
child()
"""


@dataclass(frozen=True)
class Sandbox:
    """How sandboxed tools run: each call in a new Python process."""

    timeout: float = 30.0
    """Seconds a call may take, interpreter start included; then the process is killed."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The only environment variables the process gets (nothing of this process's own)."""
    python: str = sys.executable
    """The interpreter to run."""

    def command(self) -> list[str]:
        """The child's command line."""
        return [self.python, "-I", "-X", "utf8", "-c", _BOOT]

    async def run(self, request: dict[str, Any]) -> dict[str, Any] | str:
        """The child's answer, or why there is none (timed out, crashed)."""
        with tempfile.TemporaryDirectory(prefix="selfedit-sandbox-") as cwd:
            process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.env),
                cwd=cwd,
                start_new_session=True,
            )
            try:
                out, err = await asyncio.wait_for(
                    process.communicate(json.dumps(request).encode()), self.timeout
                )
            except TimeoutError:
                return self._timed_out()
            finally:
                if process.returncode is None:  # timed out, or the turn was cancelled
                    _kill(process.pid)
                    await process.wait()
        return _answer(process.returncode, out, err)

    def run_sync(self, request: dict[str, Any]) -> dict[str, Any] | str:
        """``run``, blocking."""
        with tempfile.TemporaryDirectory(prefix="selfedit-sandbox-") as cwd:
            with subprocess.Popen(
                self.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(self.env),
                cwd=cwd,
                start_new_session=True,
            ) as process:
                try:
                    out, err = process.communicate(json.dumps(request).encode(), self.timeout)
                except subprocess.TimeoutExpired:
                    return self._timed_out()
                finally:
                    if process.returncode is None:
                        _kill(process.pid)
                        process.wait()
        return _answer(process.returncode, out, err)

    def _timed_out(self) -> str:
        return f"timed out after {self.timeout:g}s; the sandbox process was killed"


def _kill(pid: int) -> None:
    """Kill the child and everything it started (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups to kill
            os.kill(pid, signal.SIGTERM)


def _answer(code: int | None, out: bytes, err: bytes) -> dict[str, Any] | str:
    last = (err.decode(errors="replace").strip().splitlines() or [""])[-1][-300:]
    detail = f" ({last})" if last else ""
    if code:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return f"the sandbox process {how} before answering{detail}"
    try:
        answer = json.loads(out)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return f"the sandbox process gave no answer{detail}"
    return answer


# -- the parent's side of a call -------------------------------------------------------------


def request(
    recipe: Recipe, name: str, arguments: str | dict[str, Any], state: AgentState | None
) -> dict[str, Any]:
    """What the child is sent: the tool, the arguments, the agent's id, name and blocks."""
    return {
        "name": name,
        "source": recipe.source,
        "function": recipe.function,
        "options": recipe.options,
        "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        "state": None
        if state is None
        else {
            "id": state.id,
            "name": state.name,
            "blocks": [b.model_dump() for b in state.memory],
        },
    }


def apply(answer: dict[str, Any], state: AgentState | None) -> ToolResult:
    """The child's result; on success its memory edits are made here, through the checks."""
    status, content = answer.get("status"), answer.get("content")
    if status not in ("success", "error") or not isinstance(content, str):
        return ToolResult("error", "Error: the sandbox process gave a malformed answer")
    if status == "error" or state is None:
        return ToolResult(status, content)
    try:
        _edit(state.memory, answer.get("blocks", []))
    except (ValueError, TypeError, KeyError) as e:  # BlockError is a ValueError
        return ToolResult("error", f"Error: the tool's memory edit was refused: {e}")
    return ToolResult("success", content, content)


def _edit(memory: Memory, blocks: list[dict[str, Any]]) -> None:
    for fields in blocks:
        label, value = fields["label"], fields["value"]
        if label not in memory:
            memory.add_block(Block(**{k: fields[k] for k in _BLOCK_FIELDS if k in fields}))
        elif memory.get_block(label).value != value:
            memory.update_block_value(label, value)


_BLOCK_FIELDS = ("label", "value", "limit", "description", "read_only", "id")


# -- the child -------------------------------------------------------------------------------


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


def child() -> None:
    """The child process: read the call from stdin, answer on stdout, exit."""
    sent = json.loads(sys.stdin.buffer.read())
    answer = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what the tool prints goes to stderr, never into the answer
    answer.write(json.dumps(_call(sent)))
    answer.flush()
    os._exit(0)  # threads of a tool that timed out die with the process
