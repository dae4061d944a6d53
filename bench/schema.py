"""Benchmark b): from a function to the OpenAI tool schema, cold and cached.

Cold: every call gets a function object never seen before, built from source with a distinct
name (``_subject.make_function``), so no cache keyed on the function or its name helps. The
parameter types and the docstring are the same each time, as across the tools of one program.
Building the functions is done before each batch's clock starts. The info rows vary one thing:
distinct docstrings (defeats a docstring cache), string annotations (``from __future__ import
annotations``), the first ``invoke`` added (toolkit builds its validator lazily, the peers build
theirs with the schema), and toolkit's own caches emptied (the first tool of its kind).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from _report import Row, measure, table, target
from _subject import ARGUMENTS, forecast, make_function
from _timing import Timing, calls, fresh_calls, per_call_ns

from toolkit import Tool

_names = itertools.count()


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
        measure("agents", "peer", "agents function_schema", agents),
        measure("pydantic_ai", "peer", "pydantic-ai Tool(fn).tool_def", pydantic_ai),
        measure("langchain", "peer", "langchain convert_to_openai_tool", langchain),
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
        "",
        table("b) schema per function, cached (an existing tool)", warm, "strict"),
        "",
        _under("ours cached", warm[0], 1000.0),
    ]
    return "\n".join(lines)
