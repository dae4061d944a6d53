"""The repeat guard: a model stuck in a loop tends to make the same call over and over.

After ``REPEAT_LIMIT`` identical calls in a row (same tool, same arguments in any key order,
same result), the next one is not run: the model gets an error that tells it to use the
result it has. Calls whose results change are never cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from toolkit import ToolResult

__all__ = ["REPEAT_LIMIT", "Streak"]

REPEAT_LIMIT = 3


@dataclass
class Streak:
    """The run of identical calls (same tool, arguments and result) ending at the last call."""

    name: str | None = None
    arguments: str = ""
    result: str | None = None
    count: int = 0

    def same(self, name: str, arguments: str) -> bool:
        """The same call as the last: same tool, same arguments (as JSON, in any key order)."""
        if name != self.name:
            return False
        return arguments == self.arguments or _canonical(arguments) == _canonical(self.arguments)

    def blocks(self, name: str, arguments: str) -> bool:
        return self.count >= REPEAT_LIMIT and self.same(name, arguments)

    def record(self, name: str, arguments: str, result: str) -> None:
        if self.result == result and self.same(name, arguments):
            self.count += 1
        else:
            self.name, self.arguments, self.result, self.count = name, arguments, result, 1

    def refusal(self, name: str) -> ToolResult:
        """What a blocked call returns."""
        return ToolResult(
            "error",
            f"Error: {name} was already called {REPEAT_LIMIT} times in a row with these "
            "arguments and gave the same result each time; it was not run again. "
            "Use that result, or do something else (send_message to reply).",
        )


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), sort_keys=True)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to normalize
        return arguments
