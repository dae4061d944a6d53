"""Example tools: ordinary typed, documented functions, made callable by a model with @tool."""

from __future__ import annotations

import random
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from toolkit import ToolError, tool


class Unit(Enum):
    """A temperature unit."""

    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Task(BaseModel):
    """A task to schedule."""

    title: str = Field(description="What to do.")
    due: date | None = Field(None, description="When it is due, if ever.")
    priority: Literal[1, 2, 3] = Field(2, description="1 is the most urgent.")


@tool
def roll_dice(sides: int = 6, times: Literal[1, 2, 3] = 1) -> list[int]:
    """Roll dice and return each result.

    Args:
        sides: Number of faces on each die.
        times: How many dice to roll.

    Returns:
        One number per die.
    """
    return [random.randint(1, sides) for _ in range(times)]


@tool
def convert_temperature(value: float, to: Unit = Unit.CELSIUS) -> str:
    """Convert a temperature between Celsius and Fahrenheit.

    Args:
        value: The temperature to convert, in the other unit.
        to: The unit to convert to.
    """
    if to is Unit.CELSIUS:
        return f"{(value - 32) * 5 / 9:.1f} °C"
    return f"{value * 9 / 5 + 32:.1f} °F"


@tool
def schedule(tasks: list[Task], calendar: Annotated[str, "Calendar name."] = "work") -> str:
    """Put tasks on a calendar.

    Args:
        tasks: The tasks, most important first.
    """
    if not tasks:
        raise ToolError("Give at least one task to schedule.")
    return f"scheduled {len(tasks)} task(s) on {calendar!r}"


@tool
def annotate(record: dict[str, Any], note: str) -> dict[str, Any]:
    """Attach a note to a free-form record (this tool cannot be strict: the record is free-form).

    Args:
        record: Any JSON object.
        note: The note to attach.
    """
    return {**record, "note": note}
