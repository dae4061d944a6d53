"""``invoke`` turns every model mistake into an error result the model can act on."""

import enum
import json
from typing import Any

import pytest
from pydantic import BaseModel

from toolkit import ToolError, ToolResult, tool


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    name: str
    tags: list[str] = []


@tool
def paint(count: int, color: Color, label: str = "") -> str:
    """Paint things.

    Args:
        count: How many things.
        color: Which color.
        label: A label.
    """
    return f"{count} {color.value} {label}".strip()


@tool
def store(items: list[Item], meta: dict[str, int] | None = None, note: str = "") -> dict[str, Any]:
    """Store items.

    Args:
        items: The items.
        meta: Extra numbers.
        note: A note.
    """
    return {"names": [i.name for i in items], "meta": meta, "note": note}


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


def error(result: ToolResult, tool_name: str) -> str:
    assert result.status == "error"
    assert not result.ok
    assert result.value is None
    assert f"'{tool_name}'" in result.content
    assert len(result.content.splitlines()) <= 2
    return result.content


def test_success() -> None:
    result = paint.invoke('{"count": 2, "color": "red", "label": "x"}')
    assert result == ToolResult("success", "2 red x", "2 red x")
    assert result.ok


def test_dict_or_json_string() -> None:
    assert paint.invoke({"count": 2, "color": "red"}).content == "2 red"
    assert paint.invoke('{"count": 2, "color": "red"}').content == "2 red"


def test_invalid_json_with_short_preview() -> None:
    content = error(paint.invoke('{"count": 2,'), "paint")
    assert "not valid JSON" in content
    assert '{"count": 2,' in content
    long = '{"count": 2, "label": "' + "x" * 5000
    content = error(paint.invoke(long), "paint")
    assert "not valid JSON" in content
    assert len(content) < 300


@pytest.mark.parametrize(
    ("arguments", "kind"), [("[1, 2]", "array"), ('"hi"', "str"), ("5", "int")]
)
def test_json_that_is_not_an_object(arguments: str, kind: str) -> None:
    content = error(paint.invoke(arguments), "paint")
    assert f"must be a JSON object, got {kind}" in content


def test_missing_argument_lists_the_arguments() -> None:
    content = error(paint.invoke({"count": 1}), "paint")
    assert "missing required argument 'color'" in content
    assert "count, color, label" in content


def test_unknown_argument_lists_the_allowed_ones() -> None:
    content = error(paint.invoke({"count": 1, "color": "red", "colour": "red"}), "paint")
    assert "unknown argument 'colour'" in content
    assert "count, color, label" in content


def test_wrong_type_names_the_field_and_the_value() -> None:
    content = error(paint.invoke({"count": "many", "color": "red"}), "paint")
    assert "argument 'count'" in content
    assert "integer" in content
    assert "'many'" in content


def test_wrong_enum_value() -> None:
    content = error(paint.invoke({"count": 1, "color": "blue"}), "paint")
    assert "argument 'color'" in content
    assert "'red' or 'green'" in content
    assert "'blue'" in content


def test_nested_field_path() -> None:
    content = error(store.invoke({"items": [{"name": "a"}, {"name": 5}]}), "store")
    assert "argument 'items.1.name'" in content


def test_received_value_is_truncated() -> None:
    huge = "y" * 10_000
    content = error(paint.invoke({"count": huge, "color": "red"}), "paint")
    assert "yyyy" in content
    assert "..." in content
    assert len(content) < 300


def test_many_errors_stay_short() -> None:
    arguments = {"items": [{"name": i} for i in range(50)]}
    content = error(store.invoke(arguments), "store")
    assert "more" in content
    assert len(content) < 1000


def test_tool_raising() -> None:
    @tool
    def explode(n: int) -> int:
        """Explode.

        Args:
            n: A number.
        """
        raise ValueError(f"cannot explode {n}")

    content = error(explode.invoke({"n": 3}), "explode")
    assert "ValueError: cannot explode 3" in content


def test_tool_error_is_verbatim() -> None:
    @tool
    def refuse(n: int) -> int:
        """Refuse.

        Args:
            n: A number.
        """
        raise ToolError(f"No file number {n}; list the files first.")

    result = refuse.invoke({"n": 3})
    assert result.status == "error"
    assert result.content == "No file number 3; list the files first."


def test_json_text_is_decoded_where_an_array_or_object_belongs() -> None:
    arguments = {"items": '[{"name": "a"}]', "meta": '{"k": 1}'}
    result = store.invoke(arguments)
    assert result.status == "success", result.content
    assert result.value == {"names": ["a"], "meta": {"k": 1}, "note": ""}
    as_text = store.invoke(json.dumps(arguments))
    assert as_text.value == result.value


def test_json_text_is_decoded_in_nested_fields() -> None:
    result = store.invoke({"items": [{"name": "a", "tags": '["x", "y"]'}]})
    assert result.status == "success", result.content


def test_json_text_is_kept_for_string_fields() -> None:
    result = store.invoke({"items": [], "note": "[1,2]"})
    assert result.value == {"names": [], "meta": None, "note": "[1,2]"}
    result = store.invoke({"items": [], "note": '{"a": 1}'})
    assert result.value["note"] == '{"a": 1}'


def test_json_text_that_is_not_json_is_a_type_error() -> None:
    content = error(store.invoke({"items": "[oops"}), "store")
    assert "argument 'items'" in content


@pytest.mark.parametrize("empty", ["", "   ", "{}"])
def test_empty_arguments_mean_an_empty_object(empty: str) -> None:
    assert ping.invoke(empty).content == "pong"
    content = error(paint.invoke(empty), "paint")
    assert "missing required argument 'count'" in content


def test_no_arguments_at_all() -> None:
    assert ping.invoke().content == "pong"
    assert ping.invoke({}).content == "pong"


def test_zero_parameter_tool_rejects_arguments() -> None:
    content = error(ping.invoke({"x": 1}), "ping")
    assert "unknown argument 'x'" in content


@pytest.mark.parametrize(
    "arguments",
    [
        "[" * 100_000,
        '{"count": ' + "[" * 100_000,
        {"count": 1, "color": "red", "label": "[" * 100_000},
    ],
)
def test_deeply_nested_json_never_raises(arguments: Any) -> None:
    result = paint.invoke(arguments)
    assert result.status in ("success", "error")


def test_deeply_nested_json_text_in_an_array_field_never_raises() -> None:
    result = store.invoke({"items": "[" * 100_000})
    content = error(result, "store")
    assert "argument 'items'" in content


def test_parameter_names_that_shadow_model_attributes() -> None:
    @tool
    def odd(model_config: int, schema: str, copy: bool = False) -> str:
        """Take odd names.

        Args:
            model_config: A.
            schema: B.
            copy: C.
        """
        return f"{model_config} {schema} {copy}"

    assert odd.invoke({"model_config": 1, "schema": "s", "copy": True}).content == "1 s True"
    content = error(paint.invoke({"f0": 1, "color": "red"}), "paint")
    assert "unknown argument 'f0'" in content
