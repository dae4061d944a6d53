"""Tools for ``selfedit mcp serve`` in the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from toolkit import ToolError, tool

if TYPE_CHECKING:
    from agent import AgentState


@tool
def add(a: int, b: int = 2) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool
async def shout(text: str, times: Literal[1, 2] = 1) -> str:
    """Say it louder.

    Args:
        text: What to say.
        times: How many times.
    """
    return " ".join([text.upper()] * times)


@tool
def explode(reason: str) -> str:
    """Fail on purpose.

    Args:
        reason: Why.
    """
    if reason == "tool-error":
        raise ToolError("the model should retry with another reason")
    raise RuntimeError(reason)


@tool
def free_form(record: dict[str, Any]) -> str:
    """Echo a free-form object (it cannot be strict).

    Args:
        record: Any JSON object.
    """
    return str(sorted(record))


@tool
def remember(note: str, agent_state: AgentState) -> str:
    """Needs an agent: not served.

    Args:
        note: The note.
    """
    return note
