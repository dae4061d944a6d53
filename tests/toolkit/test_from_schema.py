"""``Tool.from_schema``: a function with a hand-written JSON schema."""

from typing import Any

import pytest

from toolkit import InjectionError, SchemaError, Tool

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city."},
        "days": {"type": "integer", "minimum": 1, "default": 3, "description": "Days ahead."},
        "units": {"type": "string", "enum": ["c", "f"], "description": "Units."},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def forecast(city: str, days: int = 3, units: str = "c") -> str:
    return f"{city}: {days} days in {units}"


def bare() -> dict[str, Any]:
    return {"name": "forecast", "description": "Weather forecast.", "parameters": PARAMETERS}


def test_bare_schema() -> None:
    t = Tool.from_schema(bare(), forecast)
    assert t.name == "forecast"
    assert t.description == "Weather forecast."
    assert t.parameters == PARAMETERS
    assert t.openai_schema(strict=False) == {
        "type": "function",
        "function": {
            "name": "forecast",
            "description": "Weather forecast.",
            "parameters": PARAMETERS,
            "strict": False,
        },
    }


def test_openai_wrapper() -> None:
    wrapped = {"type": "function", "function": bare()}
    t = Tool.from_schema(wrapped, forecast)
    assert t.name == "forecast"
    assert t.parameters == PARAMETERS


def test_arguments_are_passed_as_keywords() -> None:
    t = Tool.from_schema(bare(), forecast)
    result = t.invoke('{"city": "Oslo", "units": "f"}')
    assert result.status == "success"
    assert result.content == "Oslo: 3 days in f"
    assert t.invoke({"city": "Rome", "days": 5}).content == "Rome: 5 days in c"


def test_strict_variant_of_a_hand_written_schema() -> None:
    t = Tool.from_schema(bare(), forecast)
    strict = t.strict_parameters
    assert strict is not None
    assert strict["required"] == ["city", "days", "units"]
    assert {"type": "null"} in strict["properties"]["days"]["anyOf"]
    assert t.invoke({"city": "Oslo", "days": None, "units": "c"}).content == "Oslo: 3 days in c"


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({}, "missing required argument"),
        ({"city": 5}, "argument 'city'"),
        ({"city": "Oslo", "days": 0}, "argument 'days'"),
        ({"city": "Oslo", "units": "k"}, "argument 'units'"),
        ({"city": "Oslo", "wind": True}, "unknown argument"),
        ('{"city": ', "not valid JSON"),
        ("[1]", "must be a JSON object"),
    ],
)
def test_bad_arguments_are_error_results(arguments: Any, fragment: str) -> None:
    result = Tool.from_schema(bare(), forecast).invoke(arguments)
    assert result.status == "error"
    assert fragment in result.content
    assert "'forecast'" in result.content


def test_unknown_argument_names_the_key() -> None:
    result = Tool.from_schema(bare(), forecast).invoke({"city": "Oslo", "wind": True})
    assert "'wind'" in result.content


def test_extra_argument_without_additional_properties_false_is_still_an_error_result() -> None:
    open_schema = {**bare(), "parameters": {**PARAMETERS, "additionalProperties": True}}
    result = Tool.from_schema(open_schema, forecast).invoke({"city": "Oslo", "wind": True})
    assert result.status == "error"
    assert "'forecast'" in result.content


@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ({"name": "bad name", "description": "x", "parameters": PARAMETERS}, r"must match"),
        ({"name": "ok", "parameters": PARAMETERS}, r"no description"),
        (
            {"name": "ok", "description": "x", "parameters": {"type": "array"}},
            r"parameters must be a JSON schema of type 'object'",
        ),
        (
            {
                "name": "ok",
                "description": "x",
                "parameters": {"type": "object", "properties": {"a": {"type": "nonsense"}}},
            },
            r"schema of tool 'ok'",
        ),
        (
            {
                "name": "ok",
                "description": "x",
                "parameters": {"type": "object", "required": "a"},
            },
            r"schema of tool 'ok'",
        ),
    ],
)
def test_invalid_schemas_are_rejected(schema: dict[str, Any], pattern: str) -> None:
    with pytest.raises(SchemaError, match=pattern):
        Tool.from_schema(schema, forecast)


def test_invalid_schema_reports_every_problem() -> None:
    with pytest.raises(SchemaError) as info:
        Tool.from_schema({"name": "a b", "parameters": {"type": "string"}}, forecast)
    assert len(info.value.problems) == 3


def test_free_form_hand_written_schema_is_not_strict() -> None:
    schema = {
        "name": "store",
        "description": "Store data.",
        "parameters": {
            "type": "object",
            "properties": {"data": {"type": "object", "description": "Anything."}},
            "required": ["data"],
        },
    }
    t = Tool.from_schema(schema, lambda data: sorted(data))
    assert t.strict_parameters is None
    assert t.strict_reason is not None
    assert "parameter 'data'" in t.strict_reason
    assert t.openai_schema()["function"]["strict"] is False
    assert t.invoke({"data": {"b": 1, "a": 2}}).content == '["a","b"]'
    with pytest.raises(SchemaError, match="strict=True"):
        Tool.from_schema(schema, lambda data: data, strict=True)


def test_injected_parameters_of_the_function() -> None:
    def whoami(city: str, agent_state: Any) -> str:
        return f"{city} {agent_state}"

    t = Tool.from_schema(
        {
            "name": "whoami",
            "description": "Who.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
        whoami,
    )
    assert t.injected == ("agent_state",)
    assert t.invoke({"city": "Oslo"}, agent_state="S").content == "Oslo S"
    with pytest.raises(InjectionError, match=r"'agent_state'"):
        t.invoke({"city": "Oslo"})
    rejected = t.invoke({"city": "Oslo", "agent_state": "X"}, agent_state="S")
    assert rejected.status == "error"


def test_strict_optional_without_a_default_says_null_leaves_it_out() -> None:
    schema = {
        "name": "find",
        "description": "Find things.",
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["q"],
        },
    }

    def find(q: str, limit: int = 3) -> str:
        return f"{q}:{limit}"

    t = Tool.from_schema(schema, find)
    assert t.strict_parameters is not None
    limit = t.strict_parameters["properties"]["limit"]
    assert limit["description"] == "(optional: send null to leave it out)"
    assert t.invoke('{"q": "x", "limit": null}').content == "x:3"
