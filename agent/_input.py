"""The user's messages as a caller passes them to ``messages.create``, checked.

Accepted: a list of ``{"role": "user", "content": ...}`` dicts or ``UserMessage`` objects, where
the content is text or a list of OpenAI-style text parts; or one approval, alone
(``{"type": "approval", "approve": True}`` or an ``ApprovalCreate``). Anything else is one
``ConfigError`` that names every problem and its field; nothing reaches the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from agent._errors import ConfigError
from agent._messages import ApprovalCreate, UserMessage
from agent._text import MAX_INT, bad_fields

__all__ = ["approval_in", "check_limit", "check_size", "unknown_keys", "user_texts"]

_KEYS = ("role", "content", "name")
_MISSING = object()


def _type(value: object) -> str:
    return type(value).__name__


def unknown_keys(where: str, keys: Iterable[str], known: tuple[str, ...]) -> list[str]:
    """One problem per key not in ``known``, with the closest known key when there is one."""
    problems = []
    for key in keys:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        problems.append(f"{where}: unknown key {key!r}{hint}")
    return problems


def _parts(where: str, parts: list[Any], problems: list[str]) -> str:
    texts = []
    for i, part in enumerate(parts):
        at = f"{where}[{i}]"
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind in ("image_url", "image", "input_image"):
            problems.append(f"{at}: image parts are not supported yet; send text")
        else:
            problems.append(f"{at} must be {{'type': 'text', 'text': '...'}}, got {part!r:.80}")
    return "\n".join(texts)


def _text(where: str, content: object, problems: list[str]) -> str | None:
    if content is _MISSING:
        problems.append(f"{where}: no 'content'")
        return None
    if isinstance(content, list):
        content = _parts(f"{where}.content", content, problems)
    elif not isinstance(content, str):
        problems.append(f"{where}.content must be text, got {_type(content)} {content!r:.40}")
        return None
    if not content.strip():
        problems.append(f"{where}.content is empty")
        return None
    return content


def _one(where: str, message: object, problems: list[str]) -> str | None:
    if isinstance(message, UserMessage):
        return _text(where, message.content, problems)
    if not isinstance(message, Mapping):
        problems.append(
            f"{where} must be a dict like {{'role': 'user', 'content': 'hi'}} or a UserMessage, "
            f"got {_type(message)}"
        )
        return None
    problems += unknown_keys(where, message, _KEYS)
    role = message.get("role", "user")
    if role != "user":
        problems.append(f"{where}: role {role!r}: only 'user' is accepted")
    return _text(where, message.get("content", _MISSING), problems)


def _is_approval(message: object) -> bool:
    if isinstance(message, ApprovalCreate):
        return True
    return isinstance(message, Mapping) and message.get("type") == "approval"


def approval_in(messages: object) -> ApprovalCreate | None:
    """The approval ``messages`` carry, or ``None`` when they carry none (user messages).

    Raises:
        ConfigError: an approval beside other messages, or an approval that is not valid.
    """
    if not isinstance(messages, list | tuple) or not any(map(_is_approval, messages)):
        return None
    if len(messages) != 1:
        raise ConfigError(
            "messages.create",
            ["an approval must be the only message: send it alone, then the user's message"],
        )
    message = messages[0]
    if isinstance(message, ApprovalCreate):
        return message
    try:
        return ApprovalCreate.model_validate(dict(message))
    except ValidationError as e:
        problems = [
            f"messages[0].{'.'.join(map(str, x['loc'])) or 'approval'}: {x['msg']}"
            for x in e.errors()
        ]
        raise ConfigError("messages.create", problems) from None


def user_texts(messages: object) -> list[str]:
    """The text of each message.

    Raises:
        ConfigError: anything that is not a list of user messages with text, every problem
            named with its field.
    """
    if isinstance(messages, str | bytes | Mapping | UserMessage) or not isinstance(
        messages, Iterable
    ):
        raise ConfigError(
            "messages.create",
            [
                "messages must be a list of messages, e.g. [{'role': 'user', 'content': 'hi'}], "
                f"got {_type(messages)}"
            ],
        )
    problems: list[str] = []
    texts = [_one(f"messages[{i}]", m, problems) for i, m in enumerate(messages)]
    if not texts:
        problems.append("no messages given")
    problems += bad_fields((f"messages[{i}].content", t) for i, t in enumerate(texts))
    if problems:
        raise ConfigError("messages.create", problems)
    return [t for t in texts if t is not None]


def check_size(tokens: int, room: int, window: int) -> None:
    """Refuse a user message that cannot fit in the context window, whatever is evicted.

    ``room`` is what the window leaves beside the parts every request carries (the system
    prompt, core memory, the tool schemas and the summary).

    Raises:
        ConfigError: it is too large; the message says what to do instead.
    """
    if tokens > room:
        raise ConfigError(
            "messages.create",
            [
                f"the message is about {tokens} tokens, and the agent's {window}-token context "
                f"window has room for {max(room, 0)} beside its system prompt, memory and "
                "tools; send it in parts, or save it to archival memory (passages.create) "
                "and ask about it"
            ],
        )


def check_limit(name: str, limit: object) -> None:
    """A ``limit`` argument must be ``None`` or a whole number from 0 to ``MAX_INT``.

    Raises:
        ConfigError: it is not.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigError(name, [f"limit must be a whole number of at least 0, got {limit!r}"])
    if limit is not None and limit > MAX_INT:
        raise ConfigError(name, [f"limit must be at most {MAX_INT}, got {limit}"])
