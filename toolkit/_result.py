"""What a tool call gives back: the text the model sees, and the Python value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic_core import to_json

__all__ = ["ToolResult", "render"]


@dataclass(slots=True)
class ToolResult:
    """The outcome of one tool call (a plain, not frozen, dataclass: it is made on every call)."""

    status: Literal["success", "error"]
    """``"success"``, or ``"error"`` when the model must fix something (or the tool failed)."""
    content: str
    """The text the model sees."""
    value: Any = None
    """The Python return value on success, else ``None``."""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == "success"


def render(value: Any, limit: int) -> str:
    """Serialize a return value for the model, cut at ``limit`` characters with a note."""
    if isinstance(value, str):
        text = value
    elif value is None:
        text = "None"
    else:
        text = to_json(value, fallback=str, serialize_unknown=True).decode()
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}\n[output cut: {cut} of {len(text)} characters omitted]"
