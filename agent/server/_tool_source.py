"""Tools that arrive as source text (``PUT /v1/tools/``): read in a separate process.

The server never runs a tool's text itself. One long-lived child process (the bare
interpreter the sandbox uses, ``toolkit`` imported once) reads sources for the server:
for each request it forks a copy of itself that compiles the source, builds the tool with the
toolkit, runs the registry's static checks (``describe``) and answers with the name,
description, schema and stored form, or with every problem, then exits. The fork costs a
millisecond or two, not an interpreter start, and what one source does at import (patching a
module, say) dies with its copy: it never reaches the next source. Where there is no
``fork`` (Windows), the child reads in its own process.

Requests go one at a time over the child's pipes, each with a timeout; a child that hangs
is killed with everything it started and the next request starts a new one, as it does
when the child died. The server writes the row (``ToolRegistry.upsert_described``); the
tool's code runs only in the sandbox process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from agent._sandbox import bare_agent_preamble
from toolkit import SchemaError

__all__ = ["SourceReader", "SourceTool"]

_CHILD = (
    bare_agent_preamble()
    + """\
import ast, json, os
from agent._tool_spec import describe
from toolkit import SchemaError, Tool


def plain(source):
    \"\"\"Whether the source's top level only imports and defines undecorated functions.\"\"\"
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return True  # nothing of it ran
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        return False
    return True


def read(source):
    try:
        tool = Tool.from_source(source)
        recipe = describe(tool, by_source=True)
        answer = {"name": tool.name, "description": tool.description,
                  "schema": tool.openai_schema(), "source": recipe.source, "spec": recipe.spec()}
        json.dumps(answer)
    except SchemaError as e:
        answer = {"problems": e.problems}
    except BaseException as e:  # SystemExit, KeyboardInterrupt from the source too
        answer = {"problems": [f"{type(e).__name__}: {e}"]}
    answer["plain"] = plain(source)
    return answer


def main():
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a source prints must not mix with the answers
    out.write(b"{}\\n")  # ready: the imports are done
    out.flush()
    for line in sys.stdin.buffer:
        sent = json.loads(line)
        answer = {**read(sent["source"]), "n": sent["n"]}
        out.write(json.dumps(answer).encode() + b"\\n")
        out.flush()


main()
"""
)


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


class _NoAnswer(Exception):
    """The child gave no answer: it timed out, died, or answered nonsense."""


class _Died(Exception):
    """The child's output ended: it is gone."""


class SourceReader:
    """The server's reading process: started on first use (or by ``start``), reused, restarted.

    Args:
        timeout: seconds one source may take to read; then the process is killed.
        start_timeout: seconds a new process may take to import ``toolkit``.
        recycle_after: reads after which the process is replaced (what sources leave behind,
            such as modules they imported, does not pile up).
    """

    def __init__(
        self, *, timeout: float = 10.0, start_timeout: float = 60.0, recycle_after: int = 500
    ) -> None:
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.recycle_after = recycle_after
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._buffer = b""
        self._reads = 0  # by this process
        self._sent = 0
        self._last_death = "died"
        self._cwd: tempfile.TemporaryDirectory[str] | None = None

    async def describe(self, source: str) -> SourceTool:
        """Read a tool from its source in the child process.

        Raises:
            SchemaError: every problem the toolkit and the registry's checks found, or why
                the child gave no answer.
        """
        answer = await asyncio.to_thread(self._ask, source)
        if "problems" in answer:
            raise SchemaError(f"tool {answer.get('name') or 'source'}", answer["problems"])
        return SourceTool(answer["name"], answer["schema"], answer["source"], answer["spec"])

    def start(self) -> None:
        """Start the process now (without waiting for its imports), if none runs."""
        with self._lock:
            self._running()

    def close(self) -> None:
        """Stop the process and everything it started."""
        with self._lock:
            self._kill()

    # -- the exchange (one at a time) ----------------------------------------------------

    def _ask(self, source: str) -> dict[str, Any]:
        with self._lock:
            try:
                answer = self._exchange(source)
            except _NoAnswer as e:
                self._kill()
                return {"problems": [f"reading it failed: the process reading it {e}"]}
            self._reads += 1
            if not answer.pop("plain", False) or self._reads >= self.recycle_after:
                self._kill()  # its top level ran more than definitions: start afresh
                self._running()
            return answer

    def _exchange(self, source: str) -> dict[str, Any]:
        """Send the source and wait for the answer; a process that dies is replaced once.

        (It may have died between requests, killed from outside; a source that kills it
        kills its replacement too, and that answer is final.)
        """
        self._sent += 1  # each answer names its request: a stray line is never taken for one
        request = json.dumps({"source": source, "n": self._sent}).encode() + b"\n"
        for attempt in (1, 2):
            process = self._running()
            try:
                if not self._ready:
                    late = "did not start in time"
                    self._line(process, time.monotonic() + self.start_timeout, late)
                    self._ready = True
                assert process.stdin is not None
                process.stdin.write(request)
                process.stdin.flush()
                late = f"took over {self.timeout:g}s"
                line = self._line(process, time.monotonic() + self.timeout, late)
                break
            except (BrokenPipeError, _Died):
                self._kill()
                if attempt == 2:
                    raise _NoAnswer(self._last_death) from None
        try:
            answer = json.loads(line)
        except ValueError:
            raise _NoAnswer("gave a malformed answer") from None
        if not isinstance(answer, dict) or answer.pop("n", None) != self._sent:
            raise _NoAnswer("gave a malformed answer")
        return answer

    def _line(self, process: subprocess.Popen[bytes], deadline: float, late: str) -> bytes:
        """The child's next line, waiting until ``deadline``."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise _NoAnswer(late)
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = process.wait()
                    how = f"was killed by signal {-code}" if code < 0 else f"exited ({code})"
                    self._last_death = how
                    raise _Died(how)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    # -- the process -----------------------------------------------------------------------

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._kill()
        self._cwd = tempfile.TemporaryDirectory(prefix="selfedit-tool-reader-")
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-X", "utf8", "-c", _CHILD],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={}, cwd=self._cwd.name, start_new_session=True,  # a kill reaches its copies
        )  # fmt: skip
        atexit.register(self.close)  # it must not outlive the server
        return self._process

    def _kill(self) -> None:
        process, self._process = self._process, None
        self._ready, self._buffer, self._reads = False, b"", 0
        if process is not None:
            atexit.unregister(self.close)
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if hasattr(os, "killpg"):
                        os.killpg(process.pid, signal.SIGKILL)
                    else:  # pragma: no cover - Windows has no process groups
                        process.kill()
            process.communicate()  # reap it, close its pipes
        if self._cwd is not None:
            self._cwd.cleanup()
            self._cwd = None
