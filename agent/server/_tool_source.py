"""Tools that arrive as source text (``PUT /v1/tools/``): read in a separate process.

The server never runs a tool's text itself. One long-lived child process (the bare
interpreter the sandbox uses, ``toolkit`` imported once) reads sources for the server: it
compiles the source, builds the tool with the toolkit, runs the registry's static checks
(``describe``) and answers with the name, description, schema and stored form, or with every
problem. A source whose top level does more than import and define undecorated functions
(patching a module, say) is read, then the process is replaced: what it did never reaches
the next source.

The answer for a source read before by the same process is reused (an upsert of an unchanged
tool skips the round trip) when nothing in reading it can come out differently the next time:
a plain top level, and defaults and annotations that only name and index (no call, no
lambda). A new process reads everything afresh. The row is written on every upsert all the
same: the database stays the one truth, for every worker.

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


_SETTLED = (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List, ast.Set, ast.Dict,
            ast.Constant, ast.BinOp, ast.UnaryOp, ast.expr_context, ast.operator, ast.unaryop)


def settled(node):
    \"\"\"Whether an expression only names and indexes (no call, lambda, ...): its value is
    the same every time this process evaluates it.\"\"\"
    for part in ast.walk(node):
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            try:  # a string annotation is evaluated as code
                inner = ast.parse(part.value, mode="eval").body
            except SyntaxError:
                continue
            if not settled(inner):
                return False
        elif not isinstance(part, _SETTLED):
            return False
    return True


def shape(source):
    \"\"\"(plain, settled): whether the top level only imports and defines undecorated
    functions; and, if so, whether every default and annotation is settled (so this process
    reads the source the same way every time: its answer may be reused).\"\"\"
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return True, False  # nothing of it ran
    fixed = True
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list:
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            parts = [*args.defaults, *args.kw_defaults, node.returns]
            parts += [a.annotation for a in every if a is not None]
            fixed = fixed and all(settled(p) for p in parts if p is not None)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        return False, False
    return True, fixed


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
    answer["plain"], answer["settled"] = shape(source)
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


_WATCHES_PIPES = sys.platform != "win32"
"""Whether the event loop can watch the child's output (not Windows' proactor loop)."""
_PIPE_ROOM = 65536
"""The largest request written from the event loop: an idle child's pipe takes it at once."""
_KEPT_ANSWERS = 256
"""How many answers are kept for sources read again (an upsert of an unchanged tool)."""
_KEPT_SOURCE = 65536
"""The longest source whose answer is kept, in characters."""


def _alive(process: subprocess.Popen[bytes] | None) -> bool:
    return process is not None and process.poll() is None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _failed(error: Exception) -> dict[str, Any]:
    return {"problems": [f"reading it failed: the process reading it {error}"]}


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
        self._known: dict[str, dict[str, Any]] = {}  # answers this process gave, by source

    async def describe(self, source: str) -> SourceTool:
        """Read a tool from its source in the child process.

        The answer for a source this process already read (a plain one whose defaults and
        annotations are settled: see the class) is reused without asking again.

        Raises:
            SchemaError: every problem the toolkit and the registry's checks found, or why
                the child gave no answer.
        """
        answer = self._known.get(source)
        if answer is None:
            # shielded: a cancelled request (the client went away) still takes its answer
            # off the pipe, so the next request never reads a stale one
            answer = await asyncio.shield(self._ask_async(source))
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

    async def _ask_async(self, source: str) -> dict[str, Any]:
        """``_ask``, without a thread when it can.

        That is when the process is up and idle, the request small (it fits the pipe) and the
        event loop watches pipes; else ``_ask`` runs in a thread. Anything out of the ordinary
        (a death, a timeout, a new process) is handled in a thread too.
        """
        if not _WATCHES_PIPES or not self._lock.acquire(blocking=False):
            return await asyncio.to_thread(self._ask, source)
        try:
            n, request = self._request(source)
            process = self._process
            if len(request) > _PIPE_ROOM or not self._ready or not _alive(process):
                return await asyncio.to_thread(self._answer, source, n, request)
            assert process is not None and process.stdin is not None
            try:
                process.stdin.write(request)
                process.stdin.flush()
                late = f"took over {self.timeout:g}s"
                line = await self._line_async(process, time.monotonic() + self.timeout, late)
                answer = self._parsed(line, n)
            except (BrokenPipeError, _Died):  # it died since the last request: a new one
                return await asyncio.to_thread(self._answer, source, n, request, renew=True)
            except _NoAnswer as e:
                await asyncio.to_thread(self._kill)
                return _failed(e)
            if self._keeps(answer):
                return self._counted(source, answer)
            return await asyncio.to_thread(self._counted, source, answer)
        finally:
            self._lock.release()

    def _ask(self, source: str) -> dict[str, Any]:
        with self._lock:
            n, request = self._request(source)
            return self._answer(source, n, request)

    def _request(self, source: str) -> tuple[int, bytes]:
        """The request's number and line (under the lock)."""
        self._sent += 1  # each answer names its request: a stray line is never taken for one
        return self._sent, json.dumps({"source": source, "n": self._sent}).encode() + b"\n"

    def _answer(
        self, source: str, n: int, request: bytes, *, renew: bool = False
    ) -> dict[str, Any]:
        """Ask (under the lock); ``renew``: the process died, start the second attempt."""
        try:
            if renew:
                self._kill()
            answer = self._exchange(n, request, (2,) if renew else (1, 2))
        except _NoAnswer as e:
            self._kill()
            return _failed(e)
        return self._counted(source, answer)

    def _keeps(self, answer: dict[str, Any]) -> bool:
        """Whether the process may read the next source after this answer."""
        return bool(answer.get("plain")) and self._reads + 1 < self.recycle_after

    def _counted(self, source: str, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer, counted; the process replaced if it must be, the answer kept if it may."""
        keeps = self._keeps(answer)
        plain, settled = answer.pop("plain", False), answer.pop("settled", False)
        self._reads += 1
        if not keeps:
            self._kill()  # its top level ran more than definitions, or it read enough: afresh
            self._running()
        elif plain and settled and "problems" not in answer and len(source) <= _KEPT_SOURCE:
            if len(self._known) >= _KEPT_ANSWERS:
                self._known.pop(next(iter(self._known)))
            self._known[source] = answer
        return answer

    def _exchange(self, n: int, request: bytes, attempts: tuple[int, ...]) -> dict[str, Any]:
        """Send the request and wait for the answer; a process that dies is replaced once.

        (It may have died between requests, killed from outside; a source that kills it
        kills its replacement too, and that answer is final.)
        """
        for attempt in attempts:
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
        return self._parsed(line, n)

    @staticmethod
    def _parsed(line: bytes, n: int) -> dict[str, Any]:
        """The answer to request ``n`` in ``line``."""
        try:
            answer = json.loads(line)
        except ValueError:
            raise _NoAnswer("gave a malformed answer") from None
        if not isinstance(answer, dict) or answer.pop("n", None) != n:
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
                self._take(process, fd)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    async def _line_async(
        self, process: subprocess.Popen[bytes], deadline: float, late: str
    ) -> bytes:
        """``_line``, waiting in the event loop."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        loop = asyncio.get_running_loop()
        while b"\n" not in self._buffer:
            readable = loop.create_future()
            loop.add_reader(fd, _settle, readable)
            try:
                await asyncio.wait_for(readable, max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise _NoAnswer(late) from None
            finally:
                loop.remove_reader(fd)
            self._take(process, fd)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _take(self, process: subprocess.Popen[bytes], fd: int) -> None:
        """Read what the child wrote (the fd is readable); ``_Died`` at the end of its output."""
        chunk = os.read(fd, 65536)
        if not chunk:
            code = process.wait()
            how = f"was killed by signal {-code}" if code < 0 else f"exited ({code})"
            self._last_death = how
            raise _Died(how)
        self._buffer += chunk

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
        self._known.clear()  # what the old process read, a new one reads afresh
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
