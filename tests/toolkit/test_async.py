"""``ainvoke``, timeouts, and async tools called from sync code."""

import asyncio
import threading
import time

from toolkit import ToolError, ToolResult, tool


@tool
async def fetch(key: str) -> str:
    """Fetch a value.

    Args:
        key: The key.
    """
    await asyncio.sleep(0)
    return f"value of {key}"


@tool
def where() -> int:
    """Tell which thread runs this."""
    return threading.get_ident()


@tool(timeout=0.05)
def slow_sync() -> str:
    """Sleep too long."""
    time.sleep(0.5)
    return "done"


@tool(timeout=0.05)
async def slow_async() -> str:
    """Sleep too long."""
    await asyncio.sleep(0.5)
    return "done"


@tool(timeout=5)
def quick_sync() -> str:
    """Return at once."""
    return "quick"


async def test_ainvoke_awaits_async_functions() -> None:
    result = await fetch.ainvoke({"key": "k"})
    assert result.status == "success"
    assert result.content == "value of k"


async def test_ainvoke_runs_sync_functions_in_a_worker_thread() -> None:
    result = await where.ainvoke()
    assert result.status == "success"
    assert result.value != threading.get_ident()


async def test_ainvoke_reports_model_mistakes() -> None:
    result = await fetch.ainvoke({"key": 1, "other": 2})
    assert result.status == "error"
    assert "'fetch'" in result.content
    assert "unknown argument 'other'" in result.content


def test_invoke_runs_async_tools_from_sync_code() -> None:
    assert fetch.invoke({"key": "k"}).content == "value of k"


async def test_invoke_runs_async_tools_inside_a_running_loop() -> None:
    assert fetch.invoke('{"key": "k"}').content == "value of k"


def test_timeout_sync_tool_invoke() -> None:
    start = time.monotonic()
    result = slow_sync.invoke()
    assert time.monotonic() - start < 0.4
    assert result.status == "error"
    assert result.content == "Error: tool 'slow_sync': timed out after 0.05s"


def test_timeout_async_tool_invoke() -> None:
    start = time.monotonic()
    result = slow_async.invoke()
    assert time.monotonic() - start < 0.4
    assert result.status == "error"
    assert result.content == "Error: tool 'slow_async': timed out after 0.05s"


async def test_timeout_sync_tool_ainvoke() -> None:
    result = await slow_sync.ainvoke()
    assert result.status == "error"
    assert "'slow_sync'" in result.content
    assert "timed out after 0.05s" in result.content


async def test_timeout_async_tool_ainvoke() -> None:
    result = await slow_async.ainvoke()
    assert result.status == "error"
    assert "'slow_async'" in result.content
    assert "timed out after 0.05s" in result.content


async def test_a_fast_tool_with_a_timeout_succeeds() -> None:
    assert quick_sync.invoke().content == "quick"
    assert (await quick_sync.ainvoke()).content == "quick"


async def test_async_tool_raising() -> None:
    @tool
    async def explode() -> str:
        """Explode."""
        raise KeyError("gone")

    result = await explode.ainvoke()
    assert result.status == "error"
    assert "'explode'" in result.content
    assert "KeyError" in result.content
    assert explode.invoke().content == result.content


async def test_async_tool_error_is_verbatim_and_tool_is_awaitable() -> None:
    @tool
    async def refuse(n: int) -> int:
        """Refuse.

        Args:
            n: A number.
        """
        if n < 0:
            raise ToolError("n must be positive")
        return n

    assert await refuse(3) == 3
    result = await refuse.ainvoke({"n": -1})
    assert result == ToolResult("error", "n must be positive")
