"""Benchmark a): one tool call, from the model's JSON arguments to the function's return value.

Every contender wraps the same three-parameter function (``_subject.forecast``) and is checked
to return the same text before it is timed. Peers are imported inside their setup so a missing
one becomes a "not installed" row.
"""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from _report import Row, fastest, measure, table, target
from _subject import ARGUMENTS, ARGUMENTS_DICT, aforecast, forecast
from _timing import Timing, awaits, calls, per_call_ns
from pydantic import BaseModel

from toolkit import Tool

EXPECTED = "Paris: sunny for 5 days (f)"


def _check(value: object) -> None:
    if value != EXPECTED:
        raise AssertionError(f"wrong result {value!r}")


def ours() -> Timing:
    """``Tool.invoke`` with JSON text: validate, call, render the result as a ToolResult."""
    t = Tool.from_function(forecast)
    _check(t.invoke(ARGUMENTS).content)
    return per_call_ns(calls(lambda: t.invoke(ARGUMENTS)))


def ours_dict() -> Timing:
    """``Tool.invoke`` with an already-decoded dict (what langchain is handed below)."""
    t = Tool.from_function(forecast)
    _check(t.invoke(ARGUMENTS_DICT).content)
    return per_call_ns(calls(lambda: t.invoke(ARGUMENTS_DICT)))


class _Arguments(BaseModel):
    city: str
    days: int = 3
    units: Literal["c", "f"] = "c"


def floor() -> Timing:
    """The least a validating call can do: json.loads, a pre-built model, a direct call."""

    def call() -> str:
        m = _Arguments.model_validate(json.loads(ARGUMENTS))
        return forecast(m.city, m.days, m.units)

    _check(call())
    return per_call_ns(calls(call))


def floor_json() -> Timing:
    """A tighter floor: pydantic parses the JSON itself (no json.loads), then a direct call."""

    def call() -> str:
        m = _Arguments.model_validate_json(ARGUMENTS)
        return forecast(m.city, m.days, m.units)

    _check(call())
    return per_call_ns(calls(call))


def _agents(fn: object) -> Timing:
    from agents import function_tool
    from agents.tool_context import ToolContext

    ft = function_tool(fn)  # type: ignore[arg-type]
    # The context the runner builds for each call; built once here, so its cost is not counted.
    ctx = ToolContext(
        context=None, tool_name=ft.name, tool_call_id="call_1", tool_arguments=ARGUMENTS
    )
    loop = asyncio.new_event_loop()
    try:
        _check(loop.run_until_complete(ft.on_invoke_tool(ctx, ARGUMENTS)))
        return per_call_ns(awaits(lambda: ft.on_invoke_tool(ctx, ARGUMENTS), loop))
    finally:
        loop.close()


def agents_sync() -> Timing:
    """``FunctionTool.on_invoke_tool``; the SDK runs a sync function in a worker thread."""
    return _agents(forecast)


def agents_async() -> Timing:
    """``FunctionTool.on_invoke_tool`` on an ``async def`` copy: no thread hop."""
    return _agents(aforecast)


def pydantic_ai() -> Timing:
    """pydantic-ai's validation alone, then a direct call: its floor, not its tool invoke.

    Measured: ``Tool(fn).function_schema.validator.validate_json(args)`` (what ToolManager's
    ``_validate_tool_args`` does with JSON text) followed by a direct ``fn(**args)``.
    """
    from pydantic_ai.tools import Tool as PydanticAITool

    validator = PydanticAITool(forecast).function_schema.validator

    def call() -> str:
        return forecast(**validator.validate_json(ARGUMENTS))

    _check(call())
    return per_call_ns(calls(call))


def _pydantic_ai_call(fn: object) -> Timing:
    """Validation, then ``FunctionSchema.call``: how pydantic-ai invokes a tool.

    The RunContext is not used by a tool that does not take one, so ``None`` stands in;
    the tool manager's retry and event bookkeeping around it are left out.
    """
    from pydantic_ai.tools import Tool as PydanticAITool

    schema = PydanticAITool(fn).function_schema  # type: ignore[arg-type]

    async def call() -> object:
        return await schema.call(schema.validator.validate_json(ARGUMENTS), None)  # type: ignore[arg-type]

    loop = asyncio.new_event_loop()
    try:
        _check(loop.run_until_complete(call()))
        return per_call_ns(awaits(call, loop))
    finally:
        loop.close()


def pydantic_ai_sync() -> Timing:
    """pydantic-ai's tool call on the sync function (it runs it in an executor)."""
    return _pydantic_ai_call(forecast)


def pydantic_ai_async() -> Timing:
    """pydantic-ai's tool call on the ``async def`` copy."""
    return _pydantic_ai_call(aforecast)


def ours_async() -> Timing:
    """``await Tool.ainvoke`` on the ``async def`` copy (no thread hop), for the async peers."""
    t = Tool.from_function(aforecast)
    loop = asyncio.new_event_loop()
    try:
        _check(loop.run_until_complete(t.ainvoke(ARGUMENTS)).content)
        return per_call_ns(awaits(lambda: t.ainvoke(ARGUMENTS), loop))
    finally:
        loop.close()


def langchain() -> Timing:
    """langchain-core ``@tool(parse_docstring=True)`` then ``StructuredTool.invoke(dict)``."""
    from langchain_core.tools import tool as lc_tool

    t = lc_tool(forecast, parse_docstring=True)
    _check(t.invoke(ARGUMENTS_DICT))
    return per_call_ns(calls(lambda: t.invoke(ARGUMENTS_DICT)))


def run() -> str:
    """Measure every contender; the table and the target lines."""
    rows: list[Row] = [
        measure("ours", "ours", "toolkit Tool.invoke(json)", ours),
        measure("ours_dict", "info", "toolkit Tool.invoke(dict)", ours_dict),
        measure("floor", "floor", "floor: json.loads + model_validate + call", floor),
        measure("floor_json", "info", "floor: model_validate_json + call", floor_json),
        measure("agents", "peer", "agents on_invoke_tool (sync fn, thread)", agents_sync),
        measure("agents_async", "peer", "agents on_invoke_tool (async fn)", agents_async),
        measure("ours_async", "info", "toolkit await Tool.ainvoke (async fn)", ours_async),
        measure("pydantic_ai", "info", "pydantic-ai validate_json + direct call", pydantic_ai),
        measure("pydantic_ai_sync", "peer", "pydantic-ai schema.call (sync fn)", pydantic_ai_sync),
        measure(
            "pydantic_ai_async", "peer", "pydantic-ai schema.call (async fn)", pydantic_ai_async
        ),
        measure("langchain", "peer", "langchain StructuredTool.invoke(dict)", langchain),
    ]
    by_key = {r.key: r for r in rows}
    lines = [
        table("a) one tool call, 3 parameters (per call)", rows, "ours"),
        "",
        target("ours / floor", by_key["ours"], by_key["floor"], 1.0),
        target("ours / fastest peer", by_key["ours"], fastest(rows, "peer"), 0.5),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
