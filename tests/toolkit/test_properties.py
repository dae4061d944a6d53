"""Universal promises: every schema-valid argument is accepted; nothing the model sends crashes."""

import datetime
import enum
import json
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import Field
from sample_types import Address, Box, Person, Point

from toolkit import Tool, tool

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@tool
def primitives(n: int, x: float = 1.5, s: str = "a", flag: bool = False) -> str:
    """Primitives with defaults.

    Args:
        n: An integer.
        x: A float.
        s: A string.
        flag: A flag.
    """
    return "ok"


@tool
def literal(mode: Literal["fast", "slow"], level: Literal[1, 2, 3] = 1) -> str:
    """Literals.

    Args:
        mode: The mode.
        level: The level.
    """
    return "ok"


@tool
def enumerated(color: Color, other: Color = Color.RED) -> str:
    """Enums.

    Args:
        color: A color.
        other: Another color.
    """
    assert isinstance(color, Color)
    assert isinstance(other, Color)
    return "ok"


@tool
def optional(limit: int | None = None, name: str | None = "x") -> str:
    """Optionals.

    Args:
        limit: A limit.
        name: A name.
    """
    return "ok"


@tool
def numbers(values: list[int], weights: list[float] | None = None) -> str:
    """Lists.

    Args:
        values: Integers.
        weights: Floats.
    """
    return "ok"


@tool
def nested(person: Person, backup: Address | None = None) -> str:
    """A nested model.

    Args:
        person: A person.
        backup: Another address.
    """
    assert isinstance(person, Person)
    return "ok"


@tool
def typed_dict(point: Point, box: Box) -> str:
    """A TypedDict and a dataclass.

    Args:
        point: A point.
        box: A box.
    """
    assert isinstance(box, Box)
    return "ok"


@tool
def union(value: int | str | list[int], choice: Literal["a"] | bool = True) -> str:
    """A union.

    Args:
        value: A value.
        choice: A choice.
    """
    return "ok"


@tool
def constrained(
    code: Annotated[str, Field(min_length=2, max_length=4)],
    count: Annotated[int, Field(ge=0, le=10)] = 0,
    when: datetime.date | None = None,
) -> str:
    """Constrained values.

    Args:
        code: A short code.
        count: A small count.
        when: A date.
    """
    assert 2 <= len(code) <= 4
    return "ok"


TOOLS = [primitives, literal, enumerated, optional, numbers, nested, typed_dict, union, constrained]
IDS = [t.name for t in TOOLS]


def check_accepted(t: Tool[..., Any], instance: dict[str, Any]) -> None:
    result = t.invoke(instance)
    assert result.status == "success", (instance, result.content)
    text = json.dumps(instance)
    result = t.invoke(text)
    assert result.status == "success", (text, result.content)


@pytest.mark.parametrize("t", TOOLS, ids=IDS)
def test_every_strict_instance_is_accepted(t: Tool[..., Any]) -> None:
    assert t.strict_parameters is not None

    @SETTINGS
    @given(from_schema(t.strict_parameters))
    def check(instance: dict[str, Any]) -> None:
        check_accepted(t, instance)

    check()


@pytest.mark.parametrize("t", TOOLS, ids=IDS)
def test_every_loose_instance_is_accepted(t: Tool[..., Any]) -> None:
    @SETTINGS
    @given(from_schema(t.parameters))
    def check(instance: dict[str, Any]) -> None:
        check_accepted(t, instance)

    check()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def names_and_json(t: Tool[..., Any]) -> Any:
    """Objects keyed mostly by the tool's own parameter names, with arbitrary values."""
    keys = st.sampled_from([*t.parameters["properties"], "agent_state", "x"]) | st.text(max_size=5)
    return st.dictionaries(keys, JSON, max_size=5)


@pytest.mark.parametrize("t", TOOLS, ids=IDS)
def test_any_text_never_raises(t: Tool[..., Any]) -> None:
    @SETTINGS
    @given(st.text())
    def check(text: str) -> None:
        result = t.invoke(text)
        assert result.status in ("success", "error")
        assert isinstance(result.content, str)

    check()


@pytest.mark.parametrize("t", TOOLS, ids=IDS)
def test_any_json_value_never_raises(t: Tool[..., Any]) -> None:
    @SETTINGS
    @given(JSON)
    def check(value: Any) -> None:
        result = t.invoke(json.dumps(value))
        assert result.status in ("success", "error")
        if isinstance(value, dict):
            assert t.invoke(value).status == result.status

    check()


@pytest.mark.parametrize("t", TOOLS, ids=IDS)
def test_any_object_with_known_keys_never_raises(t: Tool[..., Any]) -> None:
    @SETTINGS
    @given(names_and_json(t))
    def check(value: dict[str, Any]) -> None:
        as_text = t.invoke(json.dumps(value))
        as_dict = t.invoke(value)
        assert as_text.status in ("success", "error")
        assert as_dict.status == as_text.status, (value, as_text.content, as_dict.content)

    check()
