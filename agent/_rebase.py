"""Re-applying a memory edit to a value that changed underneath it (a three-way merge of lines).

A tool edits a block from the value it read (``base``) to its own (``mine``); meanwhile
someone else wrote ``theirs``. The edit is re-applied when its precondition still holds:
an append or prepend always applies; a changed run of lines applies when that run occurs
exactly once in ``theirs``; lines inserted in the middle apply after their preceding line
when that line occurs exactly once. Anything else is a conflict (``None``), which the caller
turns into an error that shows the current value: never a silent overwrite.
"""

from __future__ import annotations

__all__ = ["rebase"]


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[n] == b[n]:
        n += 1
    return n


def _common_suffix(a: list[str], b: list[str], prefix: int) -> int:
    n = 0
    while n < len(a) - prefix and n < len(b) - prefix and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _find_once(haystack: list[str], needle: list[str]) -> int | None:
    """The index where ``needle`` occurs as consecutive lines, if exactly once."""
    width = len(needle)
    hits = [i for i in range(len(haystack) - width + 1) if haystack[i : i + width] == needle]
    return hits[0] if len(hits) == 1 else None


def rebase(base: str, mine: str, theirs: str) -> str | None:
    """``theirs`` with the edit ``base -> mine`` applied, or ``None`` when it no longer applies."""
    if mine == base or theirs == mine:
        return theirs
    if theirs == base:
        return mine
    if not base:  # the first text of an empty block: an append
        return f"{theirs}\n{mine}" if theirs else mine
    old, new, current = base.split("\n"), mine.split("\n"), theirs.split("\n")
    head = _common_prefix(old, new)
    tail = _common_suffix(old, new, head)
    removed, added = old[head : len(old) - tail], new[head : len(new) - tail]
    if not removed:
        if tail == 0:
            return "\n".join(current + added)
        if head == 0:
            return "\n".join(added + current)
        at = _find_once(current, [old[head - 1]])
        return None if at is None else "\n".join(current[: at + 1] + added + current[at + 1 :])
    at = _find_once(current, removed)
    if at is None:
        return None
    return "\n".join(current[:at] + added + current[at + len(removed) :])
