"""Tools that arrive as source text (``PUT /v1/tools/``): read in a separate process, stored.

The server never runs a tool's text itself. A short-lived child process (the same bare
interpreter the sandbox uses) compiles the source, builds the tool with the toolkit, runs the
registry's static checks (``describe``), and answers with the name, description, schema and
stored form, or with every problem. The row is written exactly as the registry writes a
source-only tool, marked to run in the sandbox process: its code runs only there.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import stdlib_tools
from agent._client import AsyncClient
from agent._ids import new_id
from agent._registry import StoredTool, source_hash
from agent._sandbox import _AGENT, _ROOTS
from agent._store import ToolRow
from toolkit import SchemaError

__all__ = ["SourceTool", "describe_source", "store_source_tool"]

_BASE = frozenset(t.name for t in stdlib_tools.BASE_TOOLS)

_CHILD = f"""\
import json, os, sys, types
sys.path[:0] = {_ROOTS!r}
package = types.ModuleType("agent")
package.__path__ = [{_AGENT!r}]
sys.modules["agent"] = package
from agent._tool_spec import describe
from toolkit import SchemaError, Tool
sent = json.loads(sys.stdin.buffer.read())
out = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
try:
    tool = Tool.from_source(sent["source"])
    recipe = describe(tool, by_source=True)
    answer = {{"name": tool.name, "description": tool.description,
               "schema": tool.openai_schema(), "source": recipe.source, "spec": recipe.spec()}}
except SchemaError as e:
    answer = {{"problems": e.problems}}
except Exception as e:
    answer = {{"problems": [f"{{type(e).__name__}}: {{e}}"]}}
out.write(json.dumps(answer))
out.flush()
os._exit(0)
"""


@dataclass(frozen=True)
class SourceTool:
    """What the child read from a tool's source."""

    name: str
    """The tool's name (the function's)."""
    schema: dict[str, Any]
    """The OpenAI schema."""
    source: str
    """The text to store (the registry may add imports its signature needs)."""
    spec: dict[str, Any]
    """How to rebuild it (the registry's stored recipe)."""


_SPARE: dict[asyncio.AbstractEventLoop, asyncio.subprocess.Process] = {}
"""Per event loop, a child started ahead of time, its imports done, waiting on stdin."""


async def _child() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-X", "utf8", "-c", _CHILD,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={}, cwd=tempfile.gettempdir(), start_new_session=True,
    )  # fmt: skip


async def _take() -> asyncio.subprocess.Process:
    """The spare child if it is alive (else a new one), leaving a new spare behind."""
    loop = asyncio.get_running_loop()
    spare = _SPARE.pop(loop, None)
    _SPARE[loop] = await _child()
    if spare is not None and spare.returncode is None:
        return spare
    return await _child()


async def describe_source(source: str, *, timeout: float = 20.0) -> SourceTool:
    """Read a tool from its source in a child process.

    Raises:
        SchemaError: every problem the toolkit and the registry's checks found, or why the
            child gave no answer.
    """
    child = await _take()
    try:
        out, err = await asyncio.wait_for(
            child.communicate(json.dumps({"source": source}).encode()), timeout
        )
    except asyncio.TimeoutError:
        child.kill()
        await child.wait()
        raise SchemaError("tool source", [f"reading it took over {timeout:g}s"]) from None
    try:
        answer = json.loads(out)
    except ValueError:
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise SchemaError("tool source", [f"it could not be read: {last[-300:]}"]) from None
    if "problems" in answer:
        raise SchemaError(f"tool {answer.get('name') or 'source'}", answer["problems"])
    return SourceTool(answer["name"], answer["schema"], answer["source"], answer["spec"])


def store_source_tool(client: AsyncClient, tool: SourceTool) -> StoredTool:
    """Upsert by name (the same name keeps its id), as a sandboxed source-only tool.

    Raises:
        SchemaError: the name is a built-in tool's.
    """
    if tool.name in _BASE:
        problem = (
            f"{tool.name!r} is the name of a built-in tool; over REST a tool cannot take it "
            "over: rename the function"
        )
        raise SchemaError(f"tool {tool.name!r}", [problem])
    store = client.store
    existing = store.tool(name=tool.name)
    row = ToolRow(
        existing.id if existing else new_id("tool"),
        tool.name,
        tool.source,
        tool.schema,
        source_hash(tool.source),
        None,
        tool.spec,
        False,
        True,
    )
    with store.transaction():
        saved = store.save_tool(row, datetime.now(timezone.utc))
    return next(t for t in client.registry.list() if t.id == saved.id)
