"""Counting tokens: exact with tiktoken when its encoding is already on disk, else an estimate.

The estimate errs high on purpose (about 3 characters a token for ASCII text, one token a
character for anything else), because a context that is counted short overflows; after every
model call the engine compares it with the tokens the provider reports and keeps a correction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

try:
    import tiktoken
except ImportError:  # an optional extra ("tokens")
    tiktoken = None

__all__ = [
    "DEFAULT_WINDOW",
    "EstimateCounter",
    "TokenCounter",
    "count_messages",
    "count_tools",
    "counter_for",
    "window_for",
]

logger = logging.getLogger("selfedit.tokens")

DEFAULT_WINDOW = 8_192
"""The window assumed for a model selfedit does not know (small on purpose: safe)."""

_WINDOWS = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o4-mini": 200_000,
    "o3": 200_000,
    "o1": 200_000,
}
_MESSAGE_OVERHEAD = 4  # role and separators, per message (OpenAI's chat format)
_ENCODINGS = dict.fromkeys(("gpt-4o", "gpt-4.1", "gpt-5", "o"), "o200k_base")
_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def window_for(model: str) -> tuple[int, bool]:
    """``(window size, known)`` for a model name such as ``"openai/gpt-4o-mini"``."""
    name = model.split("/", 1)[-1]
    for prefix in sorted(_WINDOWS, key=len, reverse=True):  # "gpt-4o" before "gpt-4"
        if name.startswith(prefix):
            return _WINDOWS[prefix], True
    return DEFAULT_WINDOW, False


class TokenCounter(Protocol):
    """Counts tokens of text."""

    name: str

    def count(self, text: str) -> int:
        """Tokens in ``text``."""
        ...


class EstimateCounter:
    """An estimate that errs high: ASCII at 3 characters a token, anything else 1 a token."""

    name = "estimate"

    def count(self, text: str) -> int:
        """Estimated tokens in ``text``."""
        if text.isascii():
            return -(-len(text) // 3)
        wide = sum(1 for ch in text if ord(ch) > 127)
        return -(-(len(text) - wide) // 3) + wide


class _Tiktoken:
    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding
        self.name = f"tiktoken/{encoding.name}"

    def count(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))


def _cached(encoding: str) -> bool:
    """Whether tiktoken has ``encoding`` on disk already (so using it downloads nothing)."""
    url = _ENCODING_URLS.get(encoding)
    if url is None:
        return False
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    cache = cache or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return os.path.exists(os.path.join(cache, hashlib.sha1(url.encode()).hexdigest()))


def counter_for(model: str) -> TokenCounter:
    """Exact counting when tiktoken and the model's encoding are present; else the estimate."""
    name = model.split("/", 1)[-1]
    encoding = next((e for p, e in _ENCODINGS.items() if name.startswith(p)), "cl100k_base")
    if tiktoken is None:
        return EstimateCounter()
    if not _cached(encoding):
        logger.info("tiktoken encoding %s is not on disk; estimating tokens", encoding)
        return EstimateCounter()
    return _Tiktoken(tiktoken.get_encoding(encoding))


def count_messages(counter: TokenCounter, messages: Sequence[dict[str, Any]]) -> int:
    """Tokens of chat messages, with the per-message overhead."""
    total = 0
    for m in messages:
        total += _MESSAGE_OVERHEAD + counter.count(str(m.get("content") or ""))
        for call in m.get("tool_calls") or ():
            total += counter.count(call["function"]["name"] + call["function"]["arguments"])
    return total


def count_tools(counter: TokenCounter, tools: Sequence[dict[str, Any]]) -> int:
    """Tokens of tool schemas, as JSON."""
    return sum(counter.count(json.dumps(t, separators=(",", ":"))) for t in tools)
