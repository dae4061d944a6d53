"""The test doubles of ``agent.testing``, and the switch that blocks real model calls."""

import json

import httpx
import httpx2
import pytest

from agent import ModelError, ModelRequest, ModelResponse
from agent.testing import (
    FunctionModel,
    RealModelCallBlocked,
    ScriptedModel,
    block_real_models,
    call,
    calls,
    send,
    text,
)

REQUEST = ModelRequest([{"role": "user", "content": "hi"}], [])


def test_call_builds_one_tool_call() -> None:
    reply = call("core_memory_append", label="human", content="x")
    (only,) = reply.tool_calls
    assert only.name == "core_memory_append"
    assert json.loads(only.arguments) == {"label": "human", "content": "x"}
    assert call("x", "{broken").tool_calls[0].arguments == "{broken"
    assert call("a").tool_calls[0].id != call("a").tool_calls[0].id


def test_calls_send_and_text() -> None:
    reply = calls(("a", {}), ("b", {"x": 1}), reasoning="why")
    assert [c.name for c in reply.tool_calls] == ["a", "b"]
    assert reply.text == "why"
    sent = send("hello", reasoning="r")
    assert json.loads(sent.tool_calls[0].arguments) == {"message": "hello"}
    assert sent.tool_calls[0].name == "send_message"
    assert sent.text == "r"
    plain = text("just text")
    assert (plain.text, plain.tool_calls) == ("just text", [])


async def test_scripted_model_replies_in_order_and_records_requests() -> None:
    model = ScriptedModel([text("one"), RuntimeError("boom"), text("three")])
    assert (await model.complete(REQUEST)).text == "one"
    with pytest.raises(RuntimeError, match="boom"):
        await model.complete(REQUEST)
    assert (await model.complete(REQUEST)).text == "three"
    with pytest.raises(ModelError, match="ran out"):
        await model.complete(REQUEST)
    assert model.requests == [REQUEST] * 4


async def test_function_model_sync_and_async() -> None:
    def sync(request: ModelRequest) -> ModelResponse:
        return text(f"sync {request.last_user_message}")

    async def asynchronous(request: ModelRequest) -> ModelResponse:
        return text(f"async {request.last_user_message}")

    assert (await FunctionModel(sync).complete(REQUEST)).text == "sync hi"
    model = FunctionModel(asynchronous)
    assert (await model.complete(REQUEST)).text == "async hi"
    assert model.requests == [REQUEST]


def test_real_http_is_blocked_in_this_suite() -> None:
    with pytest.raises(RealModelCallBlocked):
        httpx.get("http://127.0.0.1:9/")
    with pytest.raises(RealModelCallBlocked):
        httpx2.get("http://127.0.0.1:9/")


async def test_real_async_http_is_blocked_in_this_suite() -> None:
    async with httpx2.AsyncClient() as client:
        with pytest.raises(RealModelCallBlocked):
            await client.get("http://127.0.0.1:9/")


def test_blocked_calls_cannot_be_swallowed() -> None:
    assert not issubclass(RealModelCallBlocked, Exception)
    try:
        httpx.get("http://127.0.0.1:9/")
    except Exception:  # what an over-eager handler would write
        pytest.fail("the block was swallowed by `except Exception`")
    except RealModelCallBlocked:
        pass


def test_mock_transports_still_work() -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, text="fake"))
    with httpx2.Client(transport=transport) as client:
        assert client.get("http://example.test/").text == "fake"


def test_block_real_models_nests_and_restores() -> None:
    # the suite's own block (tests/conftest.py) is active; an inner one must not undo it
    before = httpx2.AsyncHTTPTransport.handle_async_request
    with block_real_models(), pytest.raises(RealModelCallBlocked):
        httpx2.get("http://127.0.0.1:9/")
    assert httpx2.AsyncHTTPTransport.handle_async_request is before
    with pytest.raises(RealModelCallBlocked):
        httpx2.get("http://127.0.0.1:9/")
