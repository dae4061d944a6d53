"""Token streaming: a model's reply in pieces, and the message chunks a caller reads from them.

A model that can stream has ``stream(request)``, an async generator of ``TextDelta`` and
``ToolCallDelta`` events ending with the assembled ``ModelResponse``. ``Chunks`` turns those
events into message chunks in Letta's shape: ``reasoning_message`` chunks for the text, and
``assistant_message`` chunks for each ``send_message`` call, whose text is decoded from the
call's JSON arguments as they arrive (``MessageField``). Chunks of one message share its id,
the id ``messages.list`` later gives it. Text that cannot be stored is repaired in the chunks
exactly as in the stored reply (``agent._sanitize``), so they concatenate to it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from agent._history import SEND_MESSAGE
from agent._messages import AssistantMessage, ReasoningMessage
from agent._model import ModelRequest, ModelResponse
from agent._text import repair

__all__ = [
    "Chunks",
    "MessageField",
    "Said",
    "StreamEvent",
    "StreamingModel",
    "TextDelta",
    "ToolCallDelta",
]


@dataclass(frozen=True)
class TextDelta:
    """A piece of the text the model writes (its reasoning, beside its tool calls)."""

    text: str
    """The new text."""


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a tool call's arguments."""

    index: int
    """The call's position in the reply's ``tool_calls``."""
    id: str
    """The call's id, as far as known."""
    name: str
    """The tool's name, as far as known (it comes with the call's first piece)."""
    arguments: str
    """The new piece of the arguments' JSON text."""


StreamEvent = TextDelta | ToolCallDelta | ModelResponse
"""What ``stream`` yields: deltas, then the whole reply, last."""


@runtime_checkable
class StreamingModel(Protocol):
    """A model that can stream its reply as it writes it (``OpenAIModel`` does)."""

    name: str
    """A name for logs and storage."""

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """The whole reply to ``request``."""
        ...

    def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        """The reply to ``request`` in pieces, then the assembled ``ModelResponse``."""
        ...


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _surrogate(code: int) -> bool:
    return 0xD800 <= code <= 0xDFFF


@dataclass
class MessageField:
    """The text of the top-level ``"message"`` string of a JSON object that arrives in pieces.

    Decoded as ``json.loads`` would (escapes, surrogate pairs, even a pair split between two
    pieces), with each lone surrogate replaced by U+FFFD as ``repair_json`` does. Only the
    first ``"message"`` key is read; JSON that turns out broken stops the text where it broke.
    """

    depth: int = 0
    key_next: bool = False
    """At depth 1: the next string is a key."""
    in_string: bool = False
    sink: list[str] | None = None
    """Where the current string's characters go: the key, the message, or nowhere."""
    key: list[str] = field(default_factory=list)
    last_key: str | None = None
    reading: bool = False
    """The current string is the message."""
    done: bool = False
    escape: str | None = None
    """An escape being read (``"\\"``, ``"\\u00"``)."""
    high: int | None = None
    """A high surrogate (from an escape) waiting for its low half."""

    def feed(self, text: str) -> str:
        """The message text that ``text`` adds."""
        out: list[str] = []
        for char in text:
            if self.done:
                break
            if self.in_string:
                self._in_string(char, out)
            else:
                self._structure(char)
        return "".join(out)

    def _structure(self, char: str) -> None:
        if char in "{[":
            self.depth += 1
            self.key_next = self.depth == 1 and char == "{"
        elif char in "}]":
            self.depth -= 1
        elif char == "," and self.depth == 1:
            self.key_next = True
        elif char == ":" and self.depth == 1:
            self.key_next = False
        elif char == '"':
            self.in_string, top = True, self.depth == 1
            self.reading = top and not self.key_next and self.last_key == "message"
            self.key = []
            self.sink = self.key if top and self.key_next else None

    def _in_string(self, char: str, out: list[str]) -> None:
        sink = out if self.reading else self.sink
        if self.escape is not None:
            self._escaped(char, sink)
        elif char == "\\":
            self.escape = "\\"
        elif char == '"':
            self._put(None, sink)
            self.in_string = False
            if self.sink is self.key:
                self.last_key = "".join(self.key)
            self.done = self.reading
        else:
            self._put(char, sink)

    def _escaped(self, char: str, sink: list[str] | None) -> None:
        self.escape = escape = (self.escape or "") + char
        if escape == "\\u" or (escape.startswith("\\u") and len(escape) < 6):
            return
        self.escape = None
        if not escape.startswith("\\u"):
            if char not in _ESCAPES:
                self.done = True  # not JSON: the tool will say so
                return
            self._put(_ESCAPES[char], sink)
            return
        try:
            code = int(escape[2:], 16)
        except ValueError:
            self.done = True
            return
        if 0xD800 <= code <= 0xDBFF:
            self._put(None, sink)  # an earlier high half, unpaired
            self.high = code
        elif 0xDC00 <= code <= 0xDFFF and self.high is not None:
            pair = 0x10000 + ((self.high - 0xD800) << 10) + (code - 0xDC00)
            self.high = None
            self._emit(chr(pair), sink)
        else:
            self._put(chr(code), sink)

    def _put(self, char: str | None, sink: list[str] | None) -> None:
        """Flush a waiting high half (unpaired: U+FFFD), then add ``char``."""
        if self.high is not None:
            self.high = None
            self._emit("\ufffd", sink)
        if char is not None:
            self._emit("\ufffd" if _surrogate(ord(char)) else char, sink)

    @staticmethod
    def _emit(char: str, sink: list[str] | None) -> None:
        if sink is not None:
            sink.append(char)


@dataclass
class _Reasoning:
    """Text deltas, stripped as the stored text is: leading space dropped, trailing held."""

    started: bool = False
    held: str = ""
    sent: list[str] = field(default_factory=list)

    def feed(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        body = text.rstrip()
        if not body:
            self.held += text
            return ""
        out, self.held = self.held + body, text[len(body) :]
        self.sent.append(out)
        return out


@dataclass
class _Call:
    """A streamed call: its arguments so far, and the message text decoded from them."""

    name: str = ""
    waiting: list[str] = field(default_factory=list)
    """Arguments that came before the call's name."""
    decoder: MessageField = field(default_factory=MessageField)
    sent: list[str] = field(default_factory=list)


class Chunks:
    """Message chunks from a model's stream, for the reply stored as record ``record_id``."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        self._reasoning = _Reasoning()
        self._calls: dict[int, _Call] = {}

    def feed(self, event: TextDelta | ToolCallDelta) -> AssistantMessage | ReasoningMessage | None:
        """The chunk ``event`` adds, if any."""
        if isinstance(event, TextDelta):
            text = self._reasoning.feed(repair(event.text)[0])
            return ReasoningMessage(id=f"{self.record_id}-r", reasoning=text) if text else None
        call = self._calls.setdefault(event.index, _Call())
        call.name = call.name or event.name
        if not call.name:
            call.waiting.append(event.arguments)
            return None
        if call.name != SEND_MESSAGE:
            return None
        pieces, call.waiting = [*call.waiting, event.arguments], []
        text = call.decoder.feed("".join(pieces))
        if not text:
            return None
        call.sent.append(text)
        return AssistantMessage(id=f"{self.record_id}-{event.index}", content=text)

    def reasoning_rest(self, text: str) -> str:
        """What of the stored reasoning ``text`` no chunk has shown yet."""
        return _rest(self._reasoning.sent, text)

    def message_rest(self, index: int, text: str) -> str:
        """What of call ``index``'s delivered message ``text`` no chunk has shown yet."""
        call = self._calls.get(index)
        return _rest(call.sent if call else [], text)


def _rest(sent: list[str], text: str) -> str:
    shown = "".join(sent)
    return text[len(shown) :] if text.startswith(shown) else ""


@dataclass(frozen=True)
class Said:
    """What a step's messages need to know of its reply beyond the reply itself."""

    record_id: str
    """The id of the reply's record (its messages' ids derive from it)."""
    chunks: Chunks | None
    """What was streamed of the reply already, when it was streamed."""
    repaired: bool
    """Whether text of the reply was repaired."""

    def reasoning(self, text: str) -> str:
        """What of the reasoning ``text`` is still to be shown."""
        return text if self.chunks is None else self.chunks.reasoning_rest(text)

    def message(self, index: int, text: str) -> str:
        """What of the text call ``index`` delivered is still to be shown."""
        return text if self.chunks is None else self.chunks.message_rest(index, text)
