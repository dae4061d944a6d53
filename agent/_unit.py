"""A step's unit of work: writes its tools make, committed with the step or not at all.

While a step's tools run, the engine opens a ``StepWrites``; code that would write to the
database (archival inserts) adds a write to it instead, and the step's commit runs every write
in the step's transaction. If the step fails, or its process dies, none of them happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["StepWrites", "current_step"]

Write = Callable[[], None]

_CURRENT: ContextVar[StepWrites | None] = ContextVar("selfedit_step", default=None)


@dataclass
class StepWrites:
    """Writes waiting for the step's commit."""

    writes: list[Write] = field(default_factory=list)
    """Run inside the step's transaction, in order."""
    pending: dict[str, set[str]] = field(default_factory=dict)
    """What the writes will add, by kind, so a second insert in the step sees the first."""

    @contextlib.contextmanager
    def open(self) -> Iterator[StepWrites]:
        """Make this the current step for the code run inside (tools, and what they call)."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def run(self) -> None:
        """Run the writes (inside the commit's transaction)."""
        for write in self.writes:
            write()


def current_step() -> StepWrites | None:
    """The step whose tools are running in this context, if any."""
    return _CURRENT.get()
