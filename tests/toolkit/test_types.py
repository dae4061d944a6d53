"""JSON schemas of parameter types, and the Python values the function receives."""

import datetime
import enum
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, Field
from sample_types import Address, Box, Person, Point

from toolkit import tool


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Node(BaseModel):
    title: str
    children: list["Node"] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: bool


def one(annotation: Any, default: Any = ...) -> Any:
    """A tool with one parameter ``value`` of type ``annotation``, returning what it received."""

    def echo(value):  # type: ignore[no-untyped-def]
        return value

    echo.__annotations__ = {"value": annotation}
    if default is not ...:
        echo.__defaults__ = (default,)
    return tool(description="Echo the value.")(
        _documented(echo, "value: The value.")  # keeps the tool's docstring rules in play
    )


def _documented(fn: Any, args: str) -> Any:
    fn.__doc__ = f"Echo.\n\nArgs:\n    {args}\n"
    return fn


def prop(t: Any) -> dict[str, Any]:
    schema: dict[str, Any] = dict(t.parameters["properties"]["value"])
    schema.pop("description")
    return schema


def walk(schema: Any, path: str = "") -> Any:
    """Yield ``(path, node)`` for every dict in ``schema``, skipping property-name maps."""
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from walk(sub, f"{path}/{key}/{name}")
            else:
                yield from walk(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from walk(value, f"{path}/{i}")


def test_primitives() -> None:
    assert prop(one(int)) == {"type": "integer"}
    assert prop(one(float)) == {"type": "number"}
    assert prop(one(str)) == {"type": "string"}
    assert prop(one(bool)) == {"type": "boolean"}


def test_optional_and_union() -> None:
    expected = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert prop(one(Optional[int])) == expected
    assert prop(one(int | None)) == expected
    assert prop(one(Union[int, str])) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    t = one(int | str)
    assert t.invoke({"value": 3}).value == 3
    assert t.invoke({"value": "three"}).value == "three"
    assert one(int | None).invoke({"value": None}).value is None


def test_literals_carry_their_json_type() -> None:
    assert prop(one(Literal["a", "b"])) == {"enum": ["a", "b"], "type": "string"}
    assert prop(one(Literal[1, 2])) == {"enum": [1, 2], "type": "integer"}
    assert prop(one(Literal[True])) == {"enum": [True], "type": "boolean"}
    mixed = prop(one(Literal["a", 1]))
    assert mixed["enum"] == ["a", 1]
    assert sorted(mixed["type"]) == ["integer", "string"]
    assert one(Literal["a", 1]).invoke({"value": 1}).value == 1


def test_enum_uses_values_and_the_function_receives_the_member() -> None:
    t = one(Color)
    assert prop(t) == {"enum": ["red", "green"], "type": "string"}
    result = t.invoke('{"value": "green"}')
    assert result.status == "success"
    assert result.value is Color.GREEN
    bad = t.invoke('{"value": "GREEN"}')
    assert bad.status == "error"
    assert "'red' or 'green'" in bad.content
    levels = one(Level)
    assert prop(levels) == {"enum": [1, 2], "type": "integer"}
    assert levels.invoke({"value": 2}).value is Level.HIGH


def test_enum_default_is_its_value_and_null_gives_the_member() -> None:
    t = one(Color, Color.RED)
    assert t.parameters["properties"]["value"]["default"] == "red"
    assert t.invoke({"value": None}).value is Color.RED
    assert t.invoke({}).value is Color.RED


def test_collections() -> None:
    assert prop(one(list[int])) == {"type": "array", "items": {"type": "integer"}}
    assert prop(one(set[str])) == {
        "type": "array",
        "items": {"type": "string"},
        "uniqueItems": True,
    }
    frozen = prop(one(frozenset[int]))
    assert frozen["type"] == "array"
    assert frozen["uniqueItems"] is True
    tup = prop(one(tuple[int, str]))
    assert tup["type"] == "array"
    assert tup["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert prop(one(tuple[int, ...])) == {"type": "array", "items": {"type": "integer"}}
    mapping = prop(one(dict[str, int]))
    assert mapping == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert one(set[int]).invoke({"value": [1, 1, 2]}).value == {1, 2}
    assert one(tuple[int, str]).invoke({"value": [1, "a"]}).value == (1, "a")
    assert one(frozenset[int]).invoke({"value": [3]}).value == frozenset({3})
    assert one(dict[str, int]).invoke({"value": {"a": 1}}).value == {"a": 1}


def test_typed_dict() -> None:
    t = one(Point)
    assert prop(t) == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
        "additionalProperties": False,
    }
    assert t.invoke({"value": {"x": 1, "y": 2}}).value == {"x": 1, "y": 2}


def test_dataclass() -> None:
    t = one(Box)
    schema = prop(t)
    assert schema["type"] == "object"
    assert schema["properties"]["label"] == {"type": "string", "default": "box"}
    assert schema["required"] == ["width"]
    assert schema["additionalProperties"] is False
    assert t.invoke({"value": {"width": 3}}).value == Box(3, "box")


def test_nested_pydantic_models() -> None:
    t = one(Person)
    person = prop(t)
    assert person["type"] == "object"
    assert person["additionalProperties"] is False
    assert person["properties"]["address"] == {"$ref": "#/$defs/Address"}
    address = t.parameters["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city"]
    result = t.invoke({"value": {"name": "Ann", "address": {"city": "Oslo"}}})
    assert result.value == Person(name="Ann", address=Address(city="Oslo"))


def test_recursive_model_uses_defs() -> None:
    t = one(Node)
    node = t.parameters["$defs"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    value = {"title": "root", "children": [{"title": "leaf", "children": []}]}
    assert t.invoke({"value": value}).value.children[0].title == "leaf"


def test_discriminated_union_is_any_of() -> None:
    t = one(Annotated[Cat | Dog, Field(discriminator="kind")])
    for _, node in walk(t.parameters):
        assert "oneOf" not in node
        assert "discriminator" not in node
    assert prop(t) == {"anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]}
    assert t.parameters["$defs"]["Cat"]["properties"]["kind"] == {"enum": ["cat"], "type": "string"}
    assert t.invoke({"value": {"kind": "dog", "barks": True}}).value == Dog(kind="dog", barks=True)
    assert t.strict_parameters is not None


def test_standard_library_types() -> None:
    assert prop(one(datetime.datetime)) == {"type": "string", "format": "date-time"}
    assert prop(one(datetime.date)) == {"type": "string", "format": "date"}
    assert prop(one(datetime.time)) == {"type": "string", "format": "time"}
    assert prop(one(uuid.UUID)) == {"type": "string", "format": "uuid"}
    assert prop(one(Path))["type"] == "string"
    assert "number" in str(prop(one(Decimal)))
    u = uuid.UUID(int=5)
    assert one(uuid.UUID).invoke({"value": str(u)}).value == u
    assert one(datetime.date).invoke({"value": "2024-02-29"}).value == datetime.date(2024, 2, 29)
    assert one(Decimal).invoke('{"value": "1.10"}').value == Decimal("1.10")
    assert one(Path).invoke({"value": "a/b"}).value == Path("a/b")
    when = one(datetime.datetime).invoke({"value": "2024-01-02T03:04:05"}).value
    assert when == datetime.datetime(2024, 1, 2, 3, 4, 5)


def test_defaults_appear_in_the_loose_schema() -> None:
    @tool
    def f(
        n: int = 6,
        s: str = "hi",
        items: list[int] | None = None,
        when: datetime.date = datetime.date(2024, 1, 2),
        color: Color = Color.GREEN,
    ) -> str:
        """Do f.

        Args:
            n: N.
            s: S.
            items: Items.
            when: When.
            color: Color.
        """
        return "ok"

    props = f.parameters["properties"]
    assert props["n"]["default"] == 6
    assert props["s"]["default"] == "hi"
    assert props["items"]["default"] is None
    assert props["when"]["default"] == "2024-01-02"
    assert props["color"]["default"] == "green"
    assert f.parameters["required"] == []


def test_no_title_keys_but_a_property_named_title_survives() -> None:
    @tool
    def f(title: str, node: Node, person: Person, box: Box, point: Point) -> str:
        """Do f.

        Args:
            title: A parameter named title.
            node: A tree.
            person: A person.
            box: A box.
            point: A point.
        """
        return title

    for schema in (f.parameters, f.strict_parameters):
        for path, node in walk(schema):
            assert "title" not in node, path
        assert "title" in schema["properties"]
        assert "title" in schema["$defs"]["Node"]["properties"]
    assert f.parameters["required"] == ["title", "node", "person", "box", "point"]


UNKNOWN_KEY_CASES = [
    {"node": {"title": "a", "colour": "red"}},
    {"node": {"title": "a", "children": [{"title": "b", "colour": "red"}]}},
    {"box": {"width": 1, "colour": "red"}},
    {"point": {"x": 1, "y": 2, "colour": "red"}},
]


def test_nested_argument_objects_reject_unknown_keys() -> None:
    @tool
    def f(node: Node, box: Box, point: Point) -> str:
        """Do f.

        Args:
            node: A tree.
            box: A box.
            point: A point.
        """
        return "ok"

    assert f.parameters["$defs"]["Node"]["additionalProperties"] is False
    assert f.parameters["properties"]["box"]["additionalProperties"] is False
    assert f.parameters["properties"]["point"]["additionalProperties"] is False
    good = {"node": {"title": "a"}, "box": {"width": 1}, "point": {"x": 1, "y": 2}}
    assert f.invoke(good).status == "success"
    for case in UNKNOWN_KEY_CASES:
        result = f.invoke({**good, **case})
        assert result.status == "error", case
        assert "colour" in result.content


def test_optional_nested_argument_objects_reject_unknown_keys() -> None:
    @tool
    def f(node: Node | None = None, box: Box | None = None, point: Point | None = None) -> str:
        """Do f.

        Args:
            node: A tree.
            box: A box.
            point: A point.
        """
        return "ok"

    assert f.invoke({"node": {"title": "a", "children": []}}).status == "success"
    for case in UNKNOWN_KEY_CASES:
        result = f.invoke(case)
        assert result.status == "error", case
        assert "colour" in result.content
