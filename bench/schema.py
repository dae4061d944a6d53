"""Benchmark b): from a function to the OpenAI tool schema, cold and cached.

Cold: every call gets a function object never seen before, built from source with a distinct
name (``_subject.make_function``), so no cache keyed on the function or its name helps. The
parameter types and the docstring are the same each time, as across the tools of one program.
Building the functions is done before each batch's clock starts. The info rows vary one thing:
distinct docstrings (defeats a docstring cache), string annotations (``from __future__ import
annotations``), the first ``invoke`` added (toolkit builds its validator lazily, the peers build
theirs with the schema), and toolkit's own caches emptied (the first tool of its kind). The
``Field`` rows use the shape openai-agents documents: every parameter's constraints, default
and description in a ``Field(...)`` default, no docstring ``Args:``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Literal

from _report import Row, measure, table, target
from _subject import ARGUMENTS, forecast, make_function
from _timing import Timing, calls, fresh_calls, per_call_ns
from pydantic import Field

from toolkit import Tool

_names = itertools.count()

FIELD_TEMPLATE = '''
def {name}(
    city: str = Field(..., min_length=1, description="The name of the city."),
    days: int = Field(3, ge=1, le=7, description="How many days to forecast."),
    units: Literal["c", "f"] = Field("c", description="Celsius or Fahrenheit."),
) -> str:
    """Get the weather forecast for a city."""
    return f"{{city}}: sunny for {{days}} days ({{units}})"
'''


def _field_function(name: str) -> Callable[..., Any]:
    """A new function called ``name`` of the ``Field``-default shape."""
    namespace: dict[str, Any] = {"Field": Field, "Literal": Literal, "__name__": "bench_field"}
    exec(compile(FIELD_TEMPLATE.format(name=name), f"<{name}>", "exec"), namespace)
    fn: Callable[..., Any] = namespace[name]
    return fn


def _cold_field(work: Callable[[Any], Any]) -> Timing:
    def make() -> Callable[..., Any]:
        return _field_function(f"forecast_{next(_names)}")

    return per_call_ns(fresh_calls(make, work), batches=11, batch_ms=50.0)


def _fresh(suffix: bool = False, lazy: bool = False) -> Callable[[], Callable[..., Any]]:
    def make() -> Callable[..., Any]:
        i = next(_names)
        return make_function(f"forecast_{i}", f" (variant {i})" if suffix else "", lazy)

    return make


def _cold(work: Callable[[Any], Any], suffix: bool = False, lazy: bool = False) -> Timing:
    return per_call_ns(fresh_calls(_fresh(suffix, lazy), work), batches=11, batch_ms=50.0)


def _ours(fn: Callable[..., Any]) -> Any:
    return Tool.from_function(fn).openai_schema()


def ours() -> Timing:
    """``Tool.from_function(fn).openai_schema()``."""
    return _cold(_ours)


def ours_distinct_doc() -> Timing:
    """The same, each function with its own docstring text."""
    return _cold(_ours, suffix=True)


def ours_lazy() -> Timing:
    """The same, the functions compiled under ``from __future__ import annotations``."""
    return _cold(_ours, lazy=True)


def ours_field() -> Timing:
    """``Tool.from_function(fn).openai_schema()`` on the ``Field``-default shape."""
    return _cold_field(_ours)


def agents_field() -> Timing:
    """``agents.function_schema`` on the ``Field``-default shape."""
    from agents.function_schema import function_schema

    return _cold_field(lambda fn: function_schema(fn).params_json_schema)


def ours_first_call() -> Timing:
    """The same plus the first ``invoke``, which builds the validating model.

    The peers build their validator while making the schema; toolkit defers it to first use.
    """

    def work(fn: Callable[..., Any]) -> Any:
        t = Tool.from_function(fn)
        t.openai_schema()
        return t.invoke(ARGUMENTS)

    return _cold(work)


def ours_no_cache() -> Timing:
    """The same with toolkit's per-type and docstring caches emptied before each call.

    What the first tool of its kind costs (emptying a cache costs well under a microsecond).
    Reaches into toolkit internals; if they moved, the row prints "not installed".
    """
    from toolkit._docstring import parse_docstring
    from toolkit._schema import _cached_type_schema

    def work(fn: Callable[..., Any]) -> Any:
        _cached_type_schema.cache_clear()
        parse_docstring.cache_clear()
        return _ours(fn)

    return _cold(work)


def agents() -> Timing:
    """``agents.function_schema.function_schema(fn).params_json_schema``."""
    from agents.function_schema import function_schema

    return _cold(lambda fn: function_schema(fn).params_json_schema)


def pydantic_ai() -> Timing:
    """``pydantic_ai.tools.Tool(fn).tool_def`` (builds the validator and the JSON schema)."""
    from pydantic_ai.tools import Tool as PydanticAITool

    return _cold(lambda fn: PydanticAITool(fn).tool_def)


def langchain() -> Timing:
    """``langchain_core.utils.function_calling.convert_to_openai_tool(fn)``."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return _cold(convert_to_openai_tool)


def cached(strict: bool) -> Callable[[], Timing]:
    """``tool.openai_schema(strict)`` on a tool that has answered it before."""

    def setup() -> Timing:
        t = Tool.from_function(forecast)
        t.openai_schema(strict)
        return per_call_ns(calls(lambda: t.openai_schema(strict)))

    return setup


def _under(name: str, row: Row, limit_ns: float) -> str:
    if row.timing is None:
        return f"  {name}: n/a"
    verdict = "met" if row.timing.ns < limit_ns else "MISSED"
    return f"  {name}: {row.timing.ns:.0f} ns  (target < {limit_ns:.0f} ns: {verdict})"


def run() -> str:
    """Measure every contender; the tables and the target lines."""
    cold: list[Row] = [
        measure("ours", "ours", "toolkit Tool.from_function + openai_schema", ours),
        measure("ours_doc", "info", "  the same, distinct docstrings", ours_distinct_doc),
        measure("ours_lazy", "info", "  the same, string annotations", ours_lazy),
        measure("ours_call", "info", "  the same, + first invoke (validator)", ours_first_call),
        measure("ours_cold", "info", "  the same, toolkit caches emptied", ours_no_cache),
        measure("ours_field", "info", "  the same, Field(...) defaults", ours_field),
        measure("agents", "peer", "agents function_schema", agents),
        measure("pydantic_ai", "peer", "pydantic-ai Tool(fn).tool_def", pydantic_ai),
        measure("langchain", "peer", "langchain convert_to_openai_tool", langchain),
        measure(
            "agents_field", "info", "agents function_schema, Field(...) defaults", agents_field
        ),
    ]
    warm: list[Row] = [
        measure("strict", "ours", "tool.openai_schema() (strict)", cached(True)),
        measure("loose", "info", "tool.openai_schema(False)", cached(False)),
    ]
    by_key = {r.key: r for r in cold}
    lines = [
        table("b) schema per function, cold (a new function each call)", cold, "ours"),
        "",
        target("ours cold / agents", by_key["ours"], by_key["agents"], 0.3),
        target("  distinct docstrings / agents", by_key["ours_doc"], by_key["agents"], 0.3),
        target("  + first invoke / agents", by_key["ours_call"], by_key["agents"], 0.3),
        target("  caches emptied / agents", by_key["ours_cold"], by_key["agents"], 0.3),
        target("  Field(...) defaults / agents", by_key["ours_field"], by_key["agents_field"], 0.3),
        "",
        table("b) schema per function, cached (an existing tool)", warm, "strict"),
        "",
        _under("ours cached", warm[0], 1000.0),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
