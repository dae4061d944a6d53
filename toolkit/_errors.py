"""The exceptions of selfedit, split by who must act.

```
SelfeditError                  base of everything selfedit raises
 ├── SchemaError               the developer: a function, schema or configuration is wrong
 │                             (.problems lists every problem found, not only the first)
 ├── InjectionError            the developer: an injected value was not supplied at call time
 └── ToolError                 the tool itself: raised on purpose inside a tool; its message
                               reaches the model verbatim as the tool's error result
```

A mistake made by the model (bad JSON, an unknown argument, a wrong type) is not an exception
here: `Tool.invoke` turns it into a `ToolResult` with `status="error"` the model can act on.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["InjectionError", "SchemaError", "SelfeditError", "ToolError"]


class SelfeditError(Exception):
    """Base class of every exception selfedit raises."""


class SchemaError(SelfeditError):
    """A developer mistake found while building a tool: every problem, reported at once."""

    def __init__(self, subject: str, problems: Iterable[str]) -> None:
        self.subject = subject
        """What was being built, e.g. ``"function 'roll_dice'"``."""
        self.problems = list(problems)
        """Each problem, one sentence each."""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{subject}: {count} {noun}:\n{lines}")


class InjectionError(SelfeditError, TypeError):
    """A tool was invoked without a value for one of its injected parameters."""


class ToolError(SelfeditError):
    """Raise inside a tool to send the model this exact message as the tool's error."""
