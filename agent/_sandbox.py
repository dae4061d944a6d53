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
error. The process for the next call is started ahead of time (``Sandbox.warm``), so a call
does not wait for an interpreter to start.

The sandbox is a process boundary, not a jail: it keeps the tool away from this process's
memory, secrets in its environment and the agent's objects, not from the file system or the
network.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import toolkit
from agent._memory import Block, Memory
from agent._tool_spec import Recipe
from toolkit import ToolResult

if TYPE_CHECKING:
    from agent._state import AgentState

__all__ = ["Sandbox", "apply", "bare_agent_preamble", "request"]

_AGENT = str(Path(__file__).parent)
_ROOTS = sorted({str(Path(_AGENT).parent), str(Path(toolkit.__file__).parent.parent)})


def bare_agent_preamble() -> str:
    """The first lines of a child process's program: ``toolkit`` and a bare ``agent`` package.

    The child loads ``agent`` as a bare package: its ``__init__`` (the client, the OpenAI SDK:
    a second of imports) runs only if the code itself imports a name from ``agent``; its
    private modules (``agent._tool_child``, ``agent._tool_spec``) import at once.
    """
    return f"""\
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
"""


_BOOT = bare_agent_preamble() + "from agent._tool_child import main\nmain()\n"


@dataclass(frozen=True)
class Sandbox:
    """How sandboxed tools run: each call in a new Python process."""

    timeout: float = 30.0
    """Seconds a call may take once the process has its request; then it is killed."""
    env: Mapping[str, str] = field(default_factory=dict)
    """The only environment variables the process gets (nothing of this process's own)."""
    python: str = sys.executable
    """The interpreter to run."""
    warm: bool = True
    """Start the process for the next call ahead of time (its interpreter start and imports
    then happen between calls, not during one). Every call still gets a process of its own."""

    def command(self) -> list[str]:
        """The child's command line."""
        return [self.python, "-I", "-X", "utf8", "-c", _BOOT]

    async def run(self, request: dict[str, Any]) -> dict[str, Any] | str:
        """The child's answer, or why there is none (timed out, crashed)."""
        process = self._process()
        try:
            return await asyncio.to_thread(process.exchange, request, self.timeout)
        except asyncio.CancelledError:  # the turn was cancelled: its call dies with it
            process.discard()
            raise

    def run_sync(self, request: dict[str, Any]) -> dict[str, Any] | str:
        """``run``, blocking."""
        return self._process().exchange(request, self.timeout)

    def _process(self) -> _Process:
        """A started process for this call (the spare, if alive), leaving a spare behind."""
        if not self.warm:
            return _Process(self)
        key = (self.python, tuple(sorted(self.env.items())))
        with _LOCK:
            if not _SPARES:
                atexit.register(_discard_spares)  # a spare must not outlive this process
            spare = _SPARES.pop(key, None)
            _SPARES[key] = _Process(self)
        if spare is not None and spare.popen.poll() is None:
            return spare
        if spare is not None:
            spare.discard()
        return _Process(self)


_LOCK = threading.Lock()
_SPARES: dict[tuple[str, tuple[tuple[str, str], ...]], _Process] = {}


def _discard_spares() -> None:
    with _LOCK:
        for process in _SPARES.values():
            process.discard()
        _SPARES.clear()
        atexit.unregister(_discard_spares)


class _Process:
    """One child process, in an empty directory of its own, waiting for its call."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._cwd = tempfile.TemporaryDirectory(prefix="selfedit-sandbox-")
        self.popen = subprocess.Popen(
            sandbox.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(sandbox.env),
            cwd=self._cwd.name,
            start_new_session=True,  # its own process group: a kill reaches what it started
        )

    def exchange(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | str:
        """Send the call, wait for the answer (killing the process after ``timeout``)."""
        try:
            out, err = self.popen.communicate(json.dumps(request).encode(), timeout)
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout:g}s; the sandbox process was killed"
        finally:
            self.discard()
        return _answer(self.popen.returncode, out, err)

    def discard(self) -> None:
        """Kill the process (if it still runs) and all it started; remove its directory."""
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if hasattr(os, "killpg"):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                else:  # pragma: no cover - Windows has no process groups
                    self.popen.kill()
            self.popen.communicate()  # reap it and close its pipes
        self._cwd.cleanup()


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
