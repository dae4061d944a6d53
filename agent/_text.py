r"""Text that cannot be stored: one policy at every boundary.

A lone surrogate (``"\ud800"``) is a valid Python ``str`` that no UTF-8 database, JSON
encoder or HTTP body can hold. What a developer passes in is refused with an error naming the
field (``bad_fields``); what a model produces is repaired, each bad code point replaced by
U+FFFD, and the model is told (``repair``). A whole number above ``MAX_INT`` (a block's limit,
a page size) is refused the same way: no store's integer column holds it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MAX_INT",
    "REPAIR_NOTE",
    "bad_fields",
    "bad_text",
    "might_need_repair",
    "repair",
    "repair_json",
]

MAX_INT = 2**63 - 1
"""The largest whole number a store holds (SQLite ``INTEGER``, PostgreSQL ``BIGINT``)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED = re.compile(r"\\[uU][dD][89a-fA-F]")

REPAIR_NOTE = (
    "[System note] Your last reply held text that cannot be stored (unpaired UTF-16 "
    "surrogates); each was replaced with U+FFFD. Write plain Unicode text."
)


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be stored, or ``None`` when it can."""
    found = _SURROGATE.search(value)
    if found is None:
        return None
    return f"holds an unpaired surrogate (U+{ord(found.group()):04X}) at position {found.start()}"


def bad_fields(fields: Iterable[tuple[str, str | None]]) -> list[str]:
    """One problem per field whose text cannot be stored."""
    problems = []
    for name, value in fields:
        why = bad_text(value) if isinstance(value, str) else None
        if why:
            problems.append(f"{name} {why}; pass valid Unicode text")
    return problems


def might_need_repair(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, or an escape that may decode to one."""
    return _SURROGATE.search(text) is not None or _ESCAPED.search(text) is not None


def repair(value: str) -> tuple[str, bool]:
    """``value`` with each lone surrogate replaced by U+FFFD, and whether any was."""
    if _SURROGATE.search(value) is None:
        return value, False
    return _SURROGATE.sub("\ufffd", value), True


def _repair_tree(value: Any) -> Any:
    if isinstance(value, str):
        return repair(value)[0]
    if isinstance(value, list):
        return [_repair_tree(v) for v in value]
    if isinstance(value, dict):
        return {_repair_tree(k): _repair_tree(v) for k, v in value.items()}
    return value


def repair_json(text: str) -> tuple[str, bool]:
    r"""JSON text whose strings may decode to lone surrogates (``"\ud800"``), repaired.

    The text itself is repaired first; escaped surrogates are looked for only when the text
    contains an escape that could be one, so ordinary arguments cost one regex search.
    """
    text, changed = repair(text)
    if _ESCAPED.search(text) is None:
        return text, changed
    try:
        decoded = json.loads(text)
        fixed = _repair_tree(decoded)
    except (ValueError, RecursionError):
        return text, changed  # not JSON (or absurdly deep): the tool reports that
    if fixed == decoded:
        return text, changed
    return json.dumps(fixed, ensure_ascii=False), True
