"""The agent's exceptions, under the tree drawn in ``toolkit._errors``.

```
SelfeditError
 ├── SchemaError            (toolkit) a developer mistake in a tool or configuration
 │    └── ConfigError       a developer mistake in agent configuration (unknown tool, bad label)
 ├── ToolError              (toolkit) its message reaches the model verbatim
 │    └── BlockError        a memory edit refused: read-only block, or over the block's limit
 ├── NotFoundError          no agent, block or tool with that id / label / name (also KeyError)
 ├── ModelError             a model call failed (the API refused, the network failed, ...)
 └── AgentBusyError         another client's turn of the agent did not end in time

RealModelCallBlocked (BaseException)   a real network call inside a test: never swallowed
```
"""

from __future__ import annotations

from toolkit import SchemaError, SelfeditError, ToolError

__all__ = [
    "AgentBusyError",
    "BlockError",
    "ConfigError",
    "ModelError",
    "NotFoundError",
    "RealModelCallBlocked",
]


class ConfigError(SchemaError):
    """An agent was configured wrongly; every problem is listed."""


class BlockError(ToolError, ValueError):
    """A memory edit was refused before anything changed."""


class NotFoundError(SelfeditError, KeyError):
    """No object with that id, label or name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class ModelError(SelfeditError):
    """A model call failed; the turn ends with stop reason ``error``."""


class AgentBusyError(SelfeditError):
    """A turn waited too long for another turn of the same agent (the message names it)."""


class RealModelCallBlocked(BaseException):
    """A real network call was attempted while real calls are blocked (in tests).

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` on the way
    (the engine's, the openai client's retry loop) can turn it into a quiet failure.
    """
