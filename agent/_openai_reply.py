"""A chat completion's reply, read once: a whole JSON body, or the chunks of a stream.

Only the fields a ``ModelResponse`` needs are read, and leniently (``null`` usage, extra fields,
a finish reason the OpenAI API never sends), since any OpenAI-compatible server may answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass, field
from typing import Any

import pydantic

from agent._errors import ModelError
from agent._model import ModelResponse, ModelToolCall, ModelUsage
from agent._streaming import StreamEvent, TextDelta, ToolCallDelta

__all__ = ["read_completion", "stream_chunks"]


class _Function(pydantic.BaseModel):
    name: str = ""
    arguments: str | None = None


class _ToolCall(pydantic.BaseModel):
    id: str = ""
    type: str = "function"
    function: _Function | None = None


class _Message(pydantic.BaseModel):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(pydantic.BaseModel):
    message: _Message
    finish_reason: str | None = None


class _Usage(pydantic.BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Completion(pydantic.BaseModel):
    choices: list[_Choice] = []
    usage: _Usage | None = None


class _CallDelta(pydantic.BaseModel):
    index: int = 0
    id: str | None = None
    type: str | None = None
    function: _Function | None = None


class _Delta(pydantic.BaseModel):
    content: str | None = None
    tool_calls: list[_CallDelta] | None = None


class _ChunkChoice(pydantic.BaseModel):
    index: int = 0
    delta: _Delta = _Delta()
    finish_reason: str | None = None


class _Chunk(pydantic.BaseModel):
    choices: list[_ChunkChoice] = []
    usage: _Usage | None = None


def read_completion(name: str, body: bytes) -> ModelResponse:
    """The reply in a chat completion's JSON ``body``.

    ``json.loads`` rather than pydantic's own JSON parser: a model may write an escaped lone
    surrogate, which Python reads (the engine repairs it) and pydantic-core refuses.

    Raises:
        ModelError: the body is not a chat completion, or has no choices.
    """
    try:
        reply = _Completion.model_validate(json.loads(body))
    except (ValueError, pydantic.ValidationError) as e:
        raise ModelError(f"{name}: the reply is not a chat completion: {_first_line(e)}") from e
    if not reply.choices:
        raise ModelError(f"{name}: the reply had no choices")
    choice = reply.choices[0]
    calls = [
        ModelToolCall(c.function.name, c.function.arguments or "", c.id)
        for c in choice.message.tool_calls or ()
        if c.type == "function" and c.function is not None
    ]
    return ModelResponse(choice.message.content, calls, _usage(reply.usage), choice.finish_reason)


async def stream_chunks(name: str, chunks: AsyncIterable[Any]) -> AsyncGenerator[StreamEvent, None]:
    """The reply's pieces as they arrive, then the reply assembled from them.

    Text and each tool call's arguments arrive in pieces; a tool call's pieces share its
    ``index``, and its id and name come with its first piece. Only the first choice is kept,
    as in a whole reply; a call's ``ToolCallDelta.index`` is its place among the reply's calls.

    Raises:
        ModelError: a chunk is not a chat completion chunk, or no choice arrived.
    """
    text: list[str] = []
    calls: dict[int, _CallParts] = {}
    finish: str | None = None
    usage: _Usage | None = None
    seen = False
    async for data in chunks:
        try:
            chunk = _Chunk.model_validate(data)
        except pydantic.ValidationError as e:
            raise ModelError(f"{name}: a streamed chunk is not a chat completion chunk") from e
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            seen = True
            finish = choice.finish_reason or finish
            if choice.delta.content:
                text.append(choice.delta.content)
                yield TextDelta(choice.delta.content)
            for delta in choice.delta.tool_calls or ():
                parts = calls.get(delta.index)
                if parts is None:
                    functions = sum(c.type == "function" for c in calls.values())
                    parts = calls[delta.index] = _CallParts(position=functions)
                parts.add(delta)
                if delta.function is not None and parts.type == "function":
                    yield parts.delta(delta.function.arguments or "")
    if not seen:
        raise ModelError(f"{name}: the reply had no choices")
    made = [c.call() for c in calls.values() if c.type == "function"]
    yield ModelResponse("".join(text) if text else None, made, _usage(usage), finish)


@dataclass
class _CallParts:
    """One streamed tool call, as its pieces arrive."""

    position: int = 0
    """The call's place among the reply's calls."""
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: _CallDelta) -> None:
        self.id = self.id or delta.id or ""
        self.type = delta.type or self.type
        if delta.function is not None:
            self.name = self.name or delta.function.name
            self.arguments.append(delta.function.arguments or "")

    def delta(self, arguments: str) -> ToolCallDelta:
        return ToolCallDelta(self.position, self.id, self.name, arguments)

    def call(self) -> ModelToolCall:
        return ModelToolCall(self.name, "".join(self.arguments), self.id)


def _usage(usage: _Usage | None) -> ModelUsage:
    if usage is None:
        return ModelUsage()
    return ModelUsage(usage.prompt_tokens or 0, usage.completion_tokens or 0)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200]
