"""Ids: a kind prefix, a per-process random part, and a counter; unique and cheap to make."""

from __future__ import annotations

import itertools
import os
import time

__all__ = ["new_id"]

_PROCESS = os.urandom(6).hex()
_COUNTER = itertools.count()


def new_id(kind: str) -> str:
    """A new id such as ``message-18c3f2a9b01-5d41c2e0a1f3-17``: time, process, counter.

    Ids of one process sort by creation; the random part keeps processes apart.
    """
    return f"{kind}-{time.time_ns() // 1000:x}-{_PROCESS}-{next(_COUNTER)}"
