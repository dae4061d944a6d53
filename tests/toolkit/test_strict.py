"""Strict mode: the OpenAI structured-outputs dialect of each tool's schema."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from toolkit import SchemaError, tool


class Item(BaseModel):
    name: str
    qty: int = 1


class Order(BaseModel):
    items: list[Item]
    note: str | None = None


@dataclass
class Box:
    width: int
    label: str = "box"


def objects(schema: Any) -> Any:
    """Every object schema (one with ``properties``) anywhere in ``schema``."""
    if isinstance(schema, dict):
        if "properties" in schema and isinstance(schema["properties"], dict):
            yield schema
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from objects(sub)
            else:
                yield from objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from objects(value)


@tool
def place(order: Order, boxes: list[Box], extra: Item | Box | None = None, count: int = 3) -> str:
    """Place an order.

    Args:
        order: The order.
        boxes: Boxes to pack it in.
        extra: One more thing.
        count: How many times.
    """
    return f"{order.items[0].name} x{count} {extra!r}"


def test_every_object_is_closed_and_fully_required() -> None:
    strict = place.strict_parameters
    assert strict is not None
    found = list(objects(strict))
    assert len(found) >= 4  # the root, Order, Item, Box
    for obj in found:
        assert obj["additionalProperties"] is False, obj
        assert sorted(obj["required"]) == sorted(obj["properties"]), obj
    assert strict["required"] == ["order", "boxes", "extra", "count"]
    assert strict["$defs"]["Item"]["required"] == ["name", "qty"]
    for obj in found:
        for prop in obj["properties"].values():
            assert "default" not in prop


def test_defaults_become_nullable_and_described() -> None:
    strict = place.strict_parameters
    assert strict is not None
    count = strict["properties"]["count"]
    assert {"type": "null"} in count["anyOf"]
    assert {"type": "integer"} in count["anyOf"]
    assert "default" not in count
    assert "How many times." in count["description"]
    assert "default: 3" in count["description"]
    extra = strict["properties"]["extra"]
    assert extra["anyOf"].count({"type": "null"}) == 1


def test_null_means_use_the_default_in_both_modes() -> None:
    order = {"items": [{"name": "pen", "qty": 1}], "note": None}
    arguments = {"order": order, "boxes": [], "extra": None, "count": None}
    result = place.invoke(arguments)
    assert result.status == "success", result.content
    assert result.content == "pen x3 None"
    loose = place.invoke({"order": order, "boxes": []})
    assert loose.content == "pen x3 None"


def test_length_bounds_become_a_pattern() -> None:
    @tool
    def name_it(name: Annotated[str, Field(min_length=2, max_length=5)]) -> str:
        """Name something.

        Args:
            name: The name.
        """
        return name

    assert name_it.parameters["properties"]["name"]["minLength"] == 2
    strict = name_it.strict_parameters
    assert strict is not None
    prop = strict["properties"]["name"]
    assert "minLength" not in prop
    assert "maxLength" not in prop
    assert prop["pattern"] == "^[\\s\\S]{2,5}$"
    assert name_it.invoke({"name": "abc"}).status == "success"
    assert name_it.invoke({"name": "abcdefg"}).status == "error"


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        (dict, "free-form object"),
        (dict[str, int], "free-form object"),
        (Any, "any value"),
        (tuple[int, str], "fixed-length tuple"),
    ],
)
def test_free_form_values_make_strict_impossible(annotation: Any, reason: str) -> None:
    def f(a: int, data: Any) -> str:
        """Do f.

        Args:
            a: A number.
            data: Anything.
        """
        return "ok"

    f.__annotations__["data"] = annotation
    t = tool(f)
    assert t.strict_parameters is None
    assert t.strict_reason is not None
    assert "parameter 'data'" in t.strict_reason
    assert reason in t.strict_reason
    schema = t.openai_schema()
    assert schema["function"]["strict"] is False
    assert schema["function"]["parameters"] == t.parameters
    with pytest.raises(SchemaError, match=r"cannot be strict: parameter 'data'"):
        t.openai_schema(strict=True)
    with pytest.raises(SchemaError, match=r"tool 'f'.*\n.*strict=True, but parameter 'data'"):
        tool(strict=True)(f)


def test_strict_false_tool_is_sent_loose() -> None:
    @tool(strict=False)
    def f(a: int = 1) -> int:
        """Do f.

        Args:
            a: A number.
        """
        return a

    assert f.strict_parameters is not None
    function = f.openai_schema()["function"]
    assert function["strict"] is False
    assert function["parameters"] == f.parameters
    assert f.openai_schema(strict=True)["function"]["strict"] is True


@pytest.mark.parametrize("strict", [None, True, False])
def test_openai_schema_strict_is_always_a_bool(strict: bool | None) -> None:
    schema = place.openai_schema(strict=strict)
    assert isinstance(schema["function"]["strict"], bool)
    assert schema["function"]["strict"] is (strict is not False)


def test_strict_mode_does_not_mutate_the_loose_schema() -> None:
    loose = place.parameters
    assert loose["required"] == ["order", "boxes"]
    assert loose["properties"]["count"] == {
        "type": "integer",
        "description": "How many times.",
        "default": 3,
    }
    assert loose["$defs"]["Item"]["required"] == ["name"]


def test_unsupported_keywords_move_into_the_description() -> None:
    @tool
    def f(ids: set[int], where: Path) -> str:
        """Do f.

        Args:
            ids: Identifiers.
            where: A path.
        """
        return "ok"

    assert f.parameters["properties"]["ids"]["uniqueItems"] is True
    strict = f.strict_parameters
    assert strict is not None
    ids = strict["properties"]["ids"]
    assert "uniqueItems" not in ids
    assert "Identifiers." in ids["description"]
    assert "unique" in ids["description"]
    where = strict["properties"]["where"]
    assert "format" not in where
    assert "path" in where["description"]
    assert f.invoke({"ids": [1, 1], "where": "a"}).status == "success"
