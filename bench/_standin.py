"""A local OpenAI-compatible chat-completions server, for benchmarks: ``python _standin.py``.

It runs in its own process (so its CPU is not charged to the client's event loop), listens on
loopback on a free port, prints ``port <n>`` once it listens, and answers every
``POST .../chat/completions`` after an optional latency, over keep-alive HTTP/1.1. The reply
follows the engine benchmark's policy: ``core_memory_append`` on four steps of five, then
``send_message`` (it counts the tool messages in the request without parsing it). A request
with ``"stream":true`` is answered as server-sent events, tool-call arguments in pieces.

``StandIn`` starts and stops it from a benchmark.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

STEPS_PER_TURN = 5
_LENGTH = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")
_ids = itertools.count(1)


def _call(body: bytes) -> tuple[str, str]:
    """The (tool, JSON arguments) for this request: four edits, then the answer."""
    done = body.count(b'"role":"tool"') + body.count(b'"role": "tool"')
    if done % STEPS_PER_TURN == STEPS_PER_TURN - 1:
        return "send_message", json.dumps({"message": "done"})
    return "core_memory_append", json.dumps({"label": "notes", "content": "x"})


_USAGE = {"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109}


def _completion(body: bytes) -> bytes:
    name, arguments = _call(body)
    function = {"name": name, "arguments": arguments}
    call = {"id": f"call_{next(_ids)}", "type": "function", "function": function}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    reply = {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": "standin",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": _USAGE,
    }
    return json.dumps(reply).encode()


def _chunks(body: bytes) -> bytes:
    name, arguments = _call(body)
    half = len(arguments) // 2
    function = {"name": name, "arguments": arguments[:half]}
    first = {"index": 0, "id": f"call_{next(_ids)}", "type": "function", "function": function}
    rest = {"index": 0, "function": {"arguments": arguments[half:]}}
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": None}, None),
        ({"tool_calls": [first]}, None),
        ({"tool_calls": [rest]}, None),
        ({}, "tool_calls"),
    ]
    base = {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "model": "standin"}
    events = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": f}]} for d, f in deltas
    ]
    events.append({**base, "choices": [], "usage": _USAGE})
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def _response(body: bytes) -> bytes:
    if b'"stream":true' in body or b'"stream": true' in body:
        content, kind = _chunks(body), b"text/event-stream"
    else:
        content, kind = _completion(body), b"application/json"
    head = b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
    return head % (kind, len(content)) + content


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            body = await reader.readexactly(int(length.group(1))) if length else b""
            if latency:
                await asyncio.sleep(latency)
            writer.write(_response(body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(latency: float) -> None:
    """Listen on a free loopback port, say which, and answer until killed."""
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(r, w, latency), "127.0.0.1", 0, backlog=1024
    )
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


class StandIn:
    """The stand-in server in a child process: ``with StandIn(latency=0.02) as url: ...``."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        """Start the server; its base URL (``http://127.0.0.1:<port>/v1``)."""
        command = [sys.executable, str(Path(__file__)), str(self.latency)]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        port = self._process.stdout.readline().split()[1]
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait()


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0))
