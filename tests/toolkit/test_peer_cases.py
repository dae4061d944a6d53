"""The peers' own test functions through ``@tool``: a schema that tells the truth (issue 13).

Table-driven: for each function (``peer_functions``, each citing the peer test file it comes
from), the loose schema we emit (a snapshot in ``peer_schemas.json``; set
``UPDATE_PEER_SNAPSHOTS=1`` to rewrite it), the reason when strict mode is impossible, and a
hypothesis round trip: every instance valid under our loose and our strict schema is accepted
by ``invoke``, and the function receives values that satisfy its annotations (checked by a
transparent wrapper). Then one test for each of the nine cases the issue names.
"""

import copy
import functools
import inspect
import json
import os
import pathlib
import pickle
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import peer_functions as pf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from pydantic import AnyUrl, BaseModel, Field, TypeAdapter
from pydantic.fields import FieldInfo
from typing_extensions import TypedDict

from toolkit import SchemaError, Tool, ToolSet, tool

SNAPSHOTS = pathlib.Path(__file__).with_name("peer_schemas.json")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

OPENAI_AGENTS = "openai-agents tests/test_function_schema.py"
PYDANTIC_AI = "pydantic-ai tests/test_tools.py"
LANGCHAIN = "langchain-core tests/unit_tests/test_tools.py"
LETTA = "letta tests/test_tool_schema_parsing.py"
ISSUE = "issue 13 (measured against every peer)"


@dataclass(frozen=True)
class Case:
    fn: Callable[..., Any]
    source: str
    strict: str | None = None
    """A fragment of the reason strict mode is impossible, or ``None`` when it is possible."""
    docs: bool = False
    """Whether the function is documented well enough for the default ``@tool``."""

    @property
    def id(self) -> str:
        return self.fn.__name__


CASES = [
    Case(pf.simple_function, OPENAI_AGENTS, docs=True),
    Case(pf.varargs_function, OPENAI_AGENTS, strict="parameter 'kwargs' is a free-form object"),
    Case(pf.complex_args_function, OPENAI_AGENTS),
    Case(pf.complex_args_and_docs_function, OPENAI_AGENTS, docs=True),
    Case(pf.enum_and_literal_function, OPENAI_AGENTS),
    Case(pf.var_positional_tuple, OPENAI_AGENTS),
    Case(pf.var_keyword_dict, OPENAI_AGENTS, strict="free-form object"),
    Case(pf.func_with_field_constraints, OPENAI_AGENTS),
    Case(pf.func_with_optional_field, OPENAI_AGENTS),
    Case(pf.add_annotated, OPENAI_AGENTS),
    Case(pf.func_with_field_desc_only, OPENAI_AGENTS),
    Case(pf.func_with_string_field, OPENAI_AGENTS),
    Case(pf.func_with_multiple_field_constraints, OPENAI_AGENTS),
    Case(pf.func_with_annotated_field_constraints, OPENAI_AGENTS),
    Case(pf.func_with_annotated_optional_field, OPENAI_AGENTS),
    Case(pf.func_with_annotated_multiple_field_constraints, OPENAI_AGENTS),
    Case(pf.no_args_function, OPENAI_AGENTS, docs=True),
    Case(pf.sphinx_style_docstring, PYDANTIC_AI, docs=True),
    Case(pf.numpy_style_docstring, PYDANTIC_AI, docs=True),
    Case(pf.unknown_docstring, PYDANTIC_AI, strict="free-form object"),
    Case(pf.google_style_docstring_no_body, PYDANTIC_AI),
    Case(pf.takes_model_and_int, PYDANTIC_AI),
    Case(pf.positional_and_keyword, PYDANTIC_AI),
    Case(pf.union_of_models, PYDANTIC_AI),
    Case(pf.decimal_amount, ISSUE),
    Case(pf.bounded_decimal, ISSUE),
    Case(pf.any_url, ISSUE),
    Case(pf.extra_allowed, ISSUE, strict="allows keys beyond its declared properties"),
    Case(pf.fixed_tuple, ISSUE, strict="fixed-length tuple"),
    Case(pf.boxes, ISSUE),
    Case(pf.structured_tool_input, LANGCHAIN, strict="free-form object", docs=True),
    Case(pf.optional_list, LANGCHAIN, docs=True),
    Case(pf.create_step, LETTA, docs=True),
    Case(pf.create_task_plan, LETTA, docs=True),
    Case(pf.roll_d20, LETTA, docs=True),
    Case(pf.check_order_status, LETTA, strict="free-form object", docs=True),
    Case(pf.check_order_status_nodict, LETTA, docs=True),
]


def _build(fn: Callable[..., Any]) -> Tool[..., Any]:
    return Tool.from_function(fn, require_docs=False)


def _snapshots() -> dict[str, Any]:
    return {c.id: _build(c.fn).parameters for c in CASES}


def test_the_table_covers_every_peer() -> None:
    assert len(CASES) == len({c.id for c in CASES}) >= 35
    assert {c.source for c in CASES} == {OPENAI_AGENTS, PYDANTIC_AI, LANGCHAIN, LETTA, ISSUE}


def test_schemas_match_the_snapshot() -> None:
    current = _snapshots()
    if os.environ.get("UPDATE_PEER_SNAPSHOTS"):
        SNAPSHOTS.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert json.loads(json.dumps(current)) == json.loads(SNAPSHOTS.read_text())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_strict_or_the_reason(case: Case) -> None:
    t = _build(case.fn)
    if case.strict is None:
        assert t.strict_reason is None
        assert t.openai_schema()["function"]["strict"] is True
    else:
        assert t.strict_parameters is None
        assert case.strict in str(t.strict_reason)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_documented_ones_need_no_opt_out(case: Case) -> None:
    if case.docs:
        Tool.from_function(case.fn)
    else:
        with pytest.raises(SchemaError):
            Tool.from_function(case.fn)


# -- the round trip -------------------------------------------------------------------------


def _annotation(p: inspect.Parameter, hints: dict[str, Any]) -> Any:
    annotation = hints[p.name]
    if isinstance(p.default, FieldInfo):
        annotation = Annotated[annotation, p.default]
    return annotation


def _check_received(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Every value the function got satisfies its annotation (strictly: no coercion left)."""
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    bound = sig.bind(*args, **kwargs)
    for name, value in bound.arguments.items():
        p = sig.parameters[name]
        adapter = TypeAdapter(_annotation(p, hints))
        if p.kind is p.VAR_POSITIONAL:
            values = list(value)
        elif p.kind is p.VAR_KEYWORD:
            values = list(value.values())
        else:
            values = [value]
        for v in values:
            adapter.validate_python(v, strict=True)
    for name, p in sig.parameters.items():  # a default left to Python must not be a FieldInfo
        assert name in bound.arguments or not isinstance(p.default, FieldInfo), name


def _draft7(schema: Any) -> Any:
    """hypothesis-jsonschema reads draft 7: a tuple's ``prefixItems`` is its ``items`` array."""
    if isinstance(schema, list):
        return [_draft7(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _draft7(v) for k, v in schema.items()}
    if "prefixItems" in out:
        out["items"] = out.pop("prefixItems")
    return out


def _recording(fn: Callable[..., Any], calls: list[Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return fn(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("strict", [False, True], ids=["loose", "strict"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_valid_instance_is_accepted(case: Case, strict: bool) -> None:
    calls: list[Any] = []
    t = _build(_recording(case.fn, calls))
    schema = t.strict_parameters if strict else t.parameters
    if schema is None:
        return  # strict impossible: test_strict_or_the_reason covers it

    @SETTINGS
    @given(from_schema(_draft7(schema)))
    def check(arguments: dict[str, Any]) -> None:
        calls.clear()
        result = t.invoke(json.dumps(arguments))
        assert result.ok, (arguments, result.content)
        (args, kwargs), *_ = calls
        _check_received(case.fn, args, kwargs)

    check()


# -- the nine cases of issue 13 ---------------------------------------------------------------


def test_case_1_positional_only_parameters_are_passed_positionally() -> None:
    # pydantic-ai tests/test_tools.py: sphinx_style_docstring(foo: int, /)
    t = tool(pf.sphinx_style_docstring)
    assert t.parameters["required"] == ["foo"]
    assert t.invoke('{"foo": 1}').content == "1"
    mixed = _build(pf.positional_and_keyword)
    assert mixed.invoke('{"a": 1, "b": "x"}').content == "1 x 1.0"
    assert mixed.invoke('{"a": 1, "b": "x", "c": null}').content == "1 x 1.0"

    def defaults(a: int = 1, b: int = 2, /) -> str:
        return f"{a} {b}"

    assert _build(defaults).invoke('{"b": 5}').content == "1 5"


def test_case_2_field_as_a_default_is_read_like_pydantic() -> None:
    # openai-agents tests/test_function_schema.py: test_function_with_field_required_constraints
    def f(n: int = Field(..., gt=10, description="N.")) -> int:
        return n

    t = Tool.from_function(f, description="N it.")
    assert t.parameters["required"] == ["n"]
    assert t.parameters["properties"]["n"] == {
        "type": "integer",
        "exclusiveMinimum": 10,
        "description": "N.",
    }
    assert "missing required argument 'n'" in t.invoke("{}").content
    assert "greater than 10" in t.invoke('{"n": 5}').content
    assert t.invoke('{"n": 11}').value == 11
    # a default inside Field is passed by invoke (the function's own default is the FieldInfo)
    opt = _build(pf.func_with_optional_field)
    assert opt.parameters["properties"]["optional_param"]["default"] == 5.0
    assert opt.invoke('{"required_param": "x"}').content == "x: 5.0"
    assert opt.invoke('{"required_param": "x", "optional_param": null}').content == "x: 5.0"
    assert opt.invoke({"required_param": "x", "optional_param": -1}).status == "error"


def test_case_3_annotated_field_default_without_a_signature_default() -> None:
    # openai-agents tests/test_function_schema.py: test_function_with_annotated_field_optional...
    t = _build(pf.func_with_annotated_optional_field)
    assert t.parameters["required"] == ["required_param"]
    assert t.parameters["properties"]["optional_param"] == {
        "type": "number",
        "minimum": 0.0,
        "default": 5.0,
    }
    strict = t.openai_schema(strict=True)["function"]["parameters"]
    assert "default: 5.0" in strict["properties"]["optional_param"]["description"]
    assert t.invoke('{"required_param": "x"}').content == "x: 5.0"
    assert t.invoke('{"required_param": "x", "optional_param": null}').content == "x: 5.0"


def test_case_4_schemas_promise_only_what_the_call_accepts() -> None:
    # issue 13: Decimal, set[SomeTypedDict], AnyUrl in strict mode
    dec = _build(pf.decimal_amount)
    string = dec.parameters["properties"]["amount"]["anyOf"][1]
    assert string["type"] == "string" and string["pattern"].startswith("^")
    assert dec.invoke('{"amount": "1.50"}').value == "1.50"
    assert dec.invoke('{"amount": ""}').status == "error"

    class Item(TypedDict):
        a: int

    def tagged(items: set[Item]) -> int:
        return len(items)

    with pytest.raises(SchemaError, match=r"holds unhashable items; use list\[...\] instead"):
        _build(tagged)
    url = _build(pf.any_url)
    strict_url = url.openai_schema(strict=True)["function"]["parameters"]["properties"]["url"]
    assert "pattern" in strict_url
    assert url.invoke('{"url": "https://example.com/a?b=c"}').ok
    assert url.invoke('{"url": "0"}').status == "error"


def test_case_5_strict_schemas_where_the_peers_have_them() -> None:
    # openai-agents tests/test_function_schema.py: test_function_with_field_string_constraints
    t = _build(pf.func_with_string_field)
    assert t.strict_parameters is not None
    assert t.strict_parameters["properties"]["name"]["pattern"] == "^[A-Za-z]{3,20}$"
    assert t.invoke('{"name": "Al"}').status == "error"
    assert t.invoke('{"name": "Alice"}').ok

    def unmergeable(code: str = Field(min_length=2, pattern=r"^a|b$")) -> str:
        return code

    assert "cannot absorb" in str(_build(unmergeable).strict_reason)
    # no strict schema, and the reason says why (docs/tools.md says so too)
    assert "extra='allow'" in str(_build(pf.extra_allowed).strict_reason)
    assert "prefixItems" in str(_build(pf.fixed_tuple).strict_reason)


def test_case_6_defaults_are_shown() -> None:
    # openai-agents tests/test_function_schema.py: test_function_with_field_multiple_constraints
    for fn in (
        pf.func_with_multiple_field_constraints,
        pf.func_with_annotated_multiple_field_constraints,
    ):
        props = _build(fn).parameters["properties"]
        assert props["name"]["default"] == "Unknown"
        assert props["factor"]["default"] == 1.0
        assert props["factor"]["description"] == "Positive multiplier"
        assert "default" not in props["score"]
    t = _build(pf.func_with_multiple_field_constraints)
    assert t.invoke('{"score": 85}').content == "Unknown scored 85.0"


def test_case_7_a_union_error_names_the_branch_that_fits() -> None:
    # issue 13: A | B with {"bar": 0, "__extra__": 1}
    t = _build(pf.union_of_models)
    result = t.invoke({"x": {"bar": 0, "__extra__": 1}})
    assert result.content.endswith("in 'x': unknown key(s) '__extra__'; allowed: bar")
    result = t.invoke({"x": {"foo": 0, "__extra__": 1}})
    assert result.content.endswith("in 'x': unknown key(s) '__extra__'; allowed: foo")


def test_case_8_parameters_are_handed_out_as_copies() -> None:
    # issue 13: hypothesis-jsonschema rewrites the schema it is given
    t = _build(pf.union_of_models)
    handed = t.parameters
    handed["properties"]["x"] = {}
    handed["additionalProperties"] = True
    assert t.parameters != handed
    assert t.invoke({"x": 1}).status == "error"
    assert t.invoke({"x": {"foo": 1}, "y": 2}).status == "error"
    schema = t.openai_schema()
    with pytest.raises(TypeError, match="read-only"):
        schema["function"]["parameters"]["properties"]["x"] = {}
    editable = copy.deepcopy(schema)
    editable["function"]["parameters"]["properties"]["x"] = {}
    assert pickle.loads(pickle.dumps(schema)) == schema
    assert json.loads(json.dumps(schema)) == schema
    # a hand-written schema is copied too: the caller's dict may change afterwards
    written = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}

    def h(n: int) -> str:
        return str(n)

    by_hand = Tool.from_schema({"name": "h", "description": "H.", "parameters": written}, h)
    written["properties"]["n"] = {}
    assert by_hand.invoke({"n": "x"}).status == "error"


def test_case_9_require_docs_false_takes_functions_as_they_are() -> None:
    # openai-agents tests/test_function_schema.py: test_varargs_function
    with pytest.raises(SchemaError, match=r"\*numbers: variadic parameters need require_docs"):
        tool(pf.varargs_function)
    t = tool(require_docs=False)(pf.varargs_function)
    assert t.description == ""
    props = t.parameters["properties"]
    assert props["numbers"] == {"type": "array", "items": {"type": "number"}, "default": []}
    assert props["kwargs"]["type"] == "object"
    assert "free-form object" in str(t.strict_reason)
    arguments = {"x": 10, "numbers": [1.1, 2.2], "flag": True, "kwargs": {"extra1": "hello"}}
    assert t.invoke(arguments).value == (10, (1.1, 2.2), True, {"extra1": "hello"})
    assert t.invoke({"x": 7}).value == (7, (), False, {})
    clash = t.invoke({"x": 7, "kwargs": {"flag": True}})
    assert "key(s) 'flag' are named arguments" in clash.content
    assert t.options == {"require_docs": False}
    # Field(description=...) and Annotated[..., "text"] count as documentation
    Tool.from_function(pf.add_annotated, description="Add.")
    # the ToolSet-wide setting
    tools = ToolSet([pf.varargs_function, pf.decimal_amount], require_docs=False)
    assert tools.names == ["varargs_function", "decimal_amount"]
    with pytest.raises(SchemaError):
        ToolSet([pf.varargs_function])
    # stored tools rebuild with the option
    source = "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert Tool.from_source(source, require_docs=False).invoke({"a": 1, "b": 2}).value == 3


def test_peer_functions_of_other_shapes_still_work() -> None:
    class Model(BaseModel):
        amount: Decimal
        link: AnyUrl | None = None

    def pay(model: Model) -> str:
        return str(model.amount)

    assert _build(pay).invoke({"model": {"amount": "2.5"}}).value == "2.5"
