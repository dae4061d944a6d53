"""``OpenAIModel`` against a fake OpenAI server (an httpx2 ``MockTransport``)."""

import json
from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest

from agent import AsyncClient, ModelError, ModelRequest, OpenAIModel
from agent.testing import RealModelCallBlocked
from stdlib_tools import BASE_TOOLS

MakeAsyncClient = Callable[..., AsyncClient]


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def tool_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def completion(
    *tool_calls: dict[str, Any], content: str | None = None, usage: tuple[int, int] = (11, 7)
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "message": message,
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        },
    }


class FakeOpenAI:
    """A fake chat-completions server: answers from a list, records every request."""

    def __init__(self, *replies: dict[str, Any] | tuple[int, dict[str, Any]]) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        status, body = reply if isinstance(reply, tuple) else (200, reply)
        return httpx2.Response(status, json=body)

    def http_client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))

    def model(self, **options: Any) -> OpenAIModel:
        options.setdefault("api_key", "test")
        return OpenAIModel("openai/gpt-4o-mini", http_client=self.http_client(), **options)


async def run(
    make_async_client: MakeAsyncClient, model: OpenAIModel, content: str = "hi", **create: Any
) -> Any:
    client = make_async_client(model=model)
    create.setdefault("memory_blocks", [{"label": "human", "value": "Name: Bob"}])
    agent = await client.agents.create(**create)
    response = await client.agents.messages.create(agent_id=agent.id, messages=user(content))
    return client, agent, response


def test_the_openai_client_uses_httpx2() -> None:
    import openai._base_client as base

    assert base.httpx2 is httpx2


def test_the_name_drops_the_provider_prefix() -> None:
    model = OpenAIModel("openai/gpt-4o-mini", api_key="test")
    assert model.model == "gpt-4o-mini"
    assert model.name == "openai/gpt-4o-mini"


async def test_request_body(make_async_client: MakeAsyncClient) -> None:
    server = FakeOpenAI(completion(tool_call("send_message", {"message": "Hello!"}, "c1")))
    _, _, response = await run(make_async_client, server.model(), "Hi there")
    assert response.stop_reason == "end_turn"
    assert response.messages[-1].content == "Hello!"
    (request,) = server.requests
    assert request.method == "POST"
    assert request.url.path.endswith("/chat/completions")
    assert request.headers["authorization"] == "Bearer test"
    (body,) = server.bodies
    assert body["model"] == "gpt-4o-mini"
    assert body["tool_choice"] == "required"
    assert body["tools"] == [t.openai_schema() for t in BASE_TOOLS]
    for schema in body["tools"]:
        assert schema["type"] == "function"
        assert isinstance(schema["function"]["strict"], bool)
        assert "agent_state" not in json.dumps(schema)
    system, first = body["messages"]
    assert system["role"] == "system"
    assert "Name: Bob" in system["content"]
    assert first == {"role": "user", "content": "Hi there"}


async def test_a_strict_tool_schema_is_sent_strict(make_async_client: MakeAsyncClient) -> None:
    server = FakeOpenAI(completion(tool_call("send_message", {"message": "ok"}, "c1")))
    await run(make_async_client, server.model())
    tools = {t["function"]["name"]: t["function"] for t in server.bodies[0]["tools"]}
    send_message = tools["send_message"]
    assert send_message["strict"] is True
    assert send_message["parameters"]["additionalProperties"] is False
    assert send_message["parameters"]["required"] == ["message"]


async def test_history_shape_and_several_calls_in_one_reply(
    make_async_client: MakeAsyncClient,
) -> None:
    server = FakeOpenAI(
        completion(
            tool_call("core_memory_append", {"label": "human", "content": "Likes tea."}, "c1"),
            tool_call("core_memory_append", {"label": "human", "content": "Has a cat."}, "c2"),
        ),
        completion(tool_call("send_message", {"message": "Noted."}, "c3"), content="Done now."),
    )
    client, agent, response = await run(make_async_client, server.model())
    assert response.stop_reason == "end_turn"
    assert [m.message_type for m in response.messages] == [
        "tool_call_message",
        "tool_return_message",
        "tool_call_message",
        "tool_return_message",
        "reasoning_message",
        "assistant_message",
    ]
    human = await client.agents.blocks.retrieve(agent.id, block_label="human")
    assert human.value == "Name: Bob\nLikes tea.\nHas a cat."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (22, 14)

    messages = server.bodies[1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assistant = messages[2]
    assert assistant["content"] == ""  # never null
    assert [c["id"] for c in assistant["tool_calls"]] == ["c1", "c2"]
    assert assistant["tool_calls"][0]["function"]["name"] == "core_memory_append"
    assert [m["tool_call_id"] for m in messages[3:]] == ["c1", "c2"]
    for message in messages:
        assert message.get("content") is not None
        assert message.get("tool_calls", None) != []
    assert "Likes tea.\nHas a cat." in messages[0]["content"]


async def test_every_call_is_answered_once_over_several_turns(
    make_async_client: MakeAsyncClient,
) -> None:
    server = FakeOpenAI(
        completion(tool_call("send_message", {"message": "Hi!"}, "a1"), content="thinking"),
        completion(content="plain text"),
        completion(tool_call("send_message", {"message": "Forced."}, "a2")),
        completion(tool_call("send_message", {"message": "Third."}, "a3")),
    )
    client = make_async_client(model=server.model())
    agent = await client.agents.create()
    for text in ["one", "two", "three"]:
        await client.agents.messages.create(agent_id=agent.id, messages=user(text))
    messages = server.bodies[-1]["messages"]
    pending: list[str] = []
    calls_seen = 0
    for message in messages:
        assert message["content"] is not None
        assert message.get("tool_calls", None) != []
        if message["role"] == "tool":
            pending.remove(message["tool_call_id"])
        else:
            assert not pending
            pending = [c["id"] for c in message.get("tool_calls", [])]
            calls_seen += len(pending)
    assert not pending
    assert calls_seen == 2
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
        "assistant",
        "tool",
        "user",
    ]


async def test_forced_send_message_tool_choice(make_async_client: MakeAsyncClient) -> None:
    server = FakeOpenAI(
        completion(content="I should answer."),
        completion(tool_call("send_message", {"message": "Answer."}, "c1")),
    )
    _, _, response = await run(make_async_client, server.model())
    assert response.stop_reason == "end_turn"
    first, second = server.bodies
    assert first["tool_choice"] == "required"
    assert second["tool_choice"] == {"type": "function", "function": {"name": "send_message"}}
    assert second["messages"][-1] == {"role": "assistant", "content": "I should answer."}


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Invalid schema for function 'send_message'"),
        (401, "Incorrect API key provided: sk-wrong"),
    ],
)
async def test_http_errors_end_the_turn_and_are_not_retried(
    make_async_client: MakeAsyncClient, status: int, message: str
) -> None:
    error = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    server = FakeOpenAI((status, error))
    _, _, response = await run(make_async_client, server.model())
    assert response.stop_reason == "error"
    (note,) = response.messages
    assert note.message_type == "system_message"
    assert message in note.content
    assert str(status) in note.content
    assert len(server.requests) == 1


async def test_http_error_from_the_model_directly(make_async_client: MakeAsyncClient) -> None:
    server = FakeOpenAI((400, {"error": {"message": "context too long"}}))
    model = server.model()
    with pytest.raises(ModelError, match="context too long"):
        await model.complete(ModelRequest([{"role": "user", "content": "hi"}], []))


async def test_no_tools_means_no_tool_choice() -> None:
    server = FakeOpenAI(completion(content="hello"))
    reply = await server.model().complete(ModelRequest([{"role": "user", "content": "hi"}], []))
    assert reply.text == "hello"
    assert reply.tool_calls == []
    assert "tools" not in server.bodies[0]
    assert "tool_choice" not in server.bodies[0]


async def test_base_url_and_api_key_come_from_the_environment_at_first_request(
    make_async_client: MakeAsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = FakeOpenAI(completion(tool_call("send_message", {"message": "ok"}, "c1")))
    model = OpenAIModel("openai/gpt-4o-mini", http_client=server.http_client())  # no key yet
    monkeypatch.setenv("OPENAI_BASE_URL", "http://fake-openai.local/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    _, _, response = await run(make_async_client, model)
    assert response.stop_reason == "end_turn"
    (request,) = server.requests
    assert str(request.url) == "http://fake-openai.local/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-from-env"


async def test_arguments_override_the_environment(
    make_async_client: MakeAsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://wrong.local/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    server = FakeOpenAI(completion(tool_call("send_message", {"message": "ok"}, "c1")))
    model = server.model(base_url="http://right.local/v2", api_key="sk-right")
    await run(make_async_client, model)
    (request,) = server.requests
    assert str(request.url) == "http://right.local/v2/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-right"


async def test_no_api_key_anywhere_ends_the_turn_with_a_clear_error(
    make_async_client: MakeAsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = FakeOpenAI()
    model = OpenAIModel("openai/gpt-4o-mini", http_client=server.http_client())
    _, _, response = await run(make_async_client, model)
    assert response.stop_reason == "error"
    assert "OPENAI_API_KEY" in response.messages[-1].content
    assert server.requests == []


async def test_a_real_call_is_blocked_in_tests(
    make_async_client: MakeAsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    model = OpenAIModel("openai/gpt-4o-mini", api_key="test", max_retries=0)
    client = make_async_client(model=model)
    agent = await client.agents.create()
    with pytest.raises(RealModelCallBlocked):
        await client.agents.messages.create(agent_id=agent.id, messages=user())
    with pytest.raises(RealModelCallBlocked):
        await model.complete(ModelRequest([{"role": "user", "content": "hi"}], []))


async def test_a_real_call_is_blocked_even_with_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    model = OpenAIModel("openai/gpt-4o-mini", api_key="test")  # default max_retries
    with pytest.raises(RealModelCallBlocked):
        await model.complete(ModelRequest([{"role": "user", "content": "hi"}], []))


# The request goes through the openai client's low-level ``post``, not ``chat.completions.create``
# (whose per-message transform walk is the cost): everything on the wire must stay the same.


def big_request() -> ModelRequest:
    call = tool_call("core_memory_append", {"label": "human", "content": "Ünïcode ☕"}, "c1")
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are Sam. \u2028"}]
    for i in range(20):
        messages.append({"role": "user", "content": f'message {i} \U0001f600 "quoted"'})
        messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": "c1", "content": "None"})
    tools = [t.openai_schema() for t in BASE_TOOLS]
    return ModelRequest(messages, tools, tool_choice="send_message")


async def test_the_wire_is_what_chat_completions_create_sends() -> None:
    reply = completion(tool_call("send_message", {"message": "ok"}, "c1"))
    server = FakeOpenAI(reply, reply)
    model = server.model(parallel_tool_calls=False, timeout=30.0)
    request = big_request()
    ours = await model.complete(request)
    theirs = await model.client.chat.completions.create(**model.body(request))
    new, old = server.requests
    assert new.content == old.content
    assert (new.method, new.url) == (old.method, old.url)
    assert dict(new.headers) == dict(old.headers)
    assert new.extensions.get("timeout") == old.extensions.get("timeout")
    assert ours.tool_calls[0].name == theirs.choices[0].message.tool_calls[0].function.name


async def test_transient_failures_are_still_retried_by_the_openai_client() -> None:
    busy = (503, {"error": {"message": "overloaded"}})
    server = ImpatientOpenAI(busy, busy, completion(content="finally"))
    reply = await server.model().complete(ModelRequest(user(), []))
    assert reply.text == "finally"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]


class ImpatientOpenAI(FakeOpenAI):
    """Asks to be retried within a millisecond (the client's own backoff, shortened)."""

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle(request)
        response.headers["retry-after-ms"] = "1"
        return response


async def test_a_reply_that_is_not_a_chat_completion_is_a_model_error() -> None:
    server = FakeOpenAI({"choices": "nope"}, {"choices": []})
    model = server.model()
    with pytest.raises(ModelError, match=r"gpt-4o-mini: the reply is not a chat completion"):
        await model.complete(ModelRequest(user(), []))
    with pytest.raises(ModelError, match="the reply had no choices"):
        await model.complete(ModelRequest(user(), []))


async def test_a_lenient_server_reply_is_read() -> None:
    reply = completion(tool_call("send_message", {"message": "ok"}, "c1"))
    reply["choices"][0]["finish_reason"] = "eos"  # llama.cpp-style, not an OpenAI literal
    reply["choices"][0]["message"]["tool_calls"].append({"id": "x", "type": "custom"})
    reply["usage"] = None
    reply["extra"] = {"server": "llama.cpp"}
    response = await FakeOpenAI(reply).model().complete(ModelRequest(user(), []))
    assert response.finish_reason == "eos"
    assert [c.name for c in response.tool_calls] == ["send_message"]
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 0)


def sse(*chunks: dict[str, Any]) -> bytes:
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(events).encode()


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice], **extra}


def call_delta(index: int, arguments: str, **first: str) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if "name" in first:
        function["name"] = first["name"]
    delta: dict[str, Any] = {"index": index, "function": function}
    if "id" in first:
        delta.update(id=first["id"], type="function")
    return {"tool_calls": [delta]}


class StreamingOpenAI(FakeOpenAI):
    """Answers every request with the same server-sent-event stream."""

    def __init__(self, stream: bytes) -> None:
        super().__init__()
        self.stream = stream

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, content=self.stream)


async def test_a_streamed_reply_is_assembled(make_async_client: MakeAsyncClient) -> None:
    usage = {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}
    server = StreamingOpenAI(
        sse(
            chunk({"role": "assistant", "content": "Noting "}),
            chunk({"content": "that."}),
            chunk(call_delta(0, '{"label": "human", ', id="c1", name="core_memory_append")),
            chunk(call_delta(0, '"content": "Likes tea."}')),
            chunk(call_delta(1, "", id="c2", name="send_message")),
            chunk(call_delta(1, '{"message": "Noted."}')),
            chunk({}, "tool_calls"),
            {"id": "chatcmpl-1", "choices": [], "usage": usage},
        )
    )
    client, agent, response = await run(make_async_client, server.model(stream=True))
    assert response.stop_reason == "end_turn"
    assert [m.message_type for m in response.messages] == [
        "reasoning_message",
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
    assert response.messages[0].reasoning == "Noting that."
    assert response.messages[-1].content == "Noted."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (30, 9)
    human = await client.agents.blocks.retrieve(agent.id, block_label="human")
    assert human.value == "Name: Bob\nLikes tea."
    (body,) = server.bodies
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["tool_choice"] == "required"


async def test_a_streamed_reply_direct_from_the_model() -> None:
    server = StreamingOpenAI(sse(chunk({"content": "hel"}), chunk({"content": "lo"}, "stop")))
    model = server.model(stream=True)
    request = ModelRequest(user(), [])
    reply = await model.complete(request)
    assert (reply.text, reply.tool_calls, reply.finish_reason) == ("hello", [], "stop")
    assert server.bodies[0] == model.body(request)
    async for _ in await model.client.chat.completions.create(**model.body(request)):
        pass
    new, old = server.requests
    assert (new.content, dict(new.headers)) == (old.content, dict(old.headers))


async def test_an_error_inside_a_stream_is_a_model_error() -> None:
    server = StreamingOpenAI(sse(chunk({"content": "hel"}), {"error": {"message": "overloaded"}}))
    with pytest.raises(ModelError, match="APIError: overloaded"):
        await server.model(stream=True).complete(ModelRequest(user(), []))


async def test_a_stream_without_choices_is_a_model_error() -> None:
    server = StreamingOpenAI(sse({"id": "chatcmpl-1", "choices": []}))
    with pytest.raises(ModelError, match="the reply had no choices"):
        await server.model(stream=True).complete(ModelRequest(user(), []))


async def test_a_real_call_over_the_aiohttp_transport_is_blocked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9")
    http = openai.DefaultAioHttpClient()
    model = OpenAIModel("openai/gpt-4o-mini", api_key="test", max_retries=0, http_client=http)
    try:
        with pytest.raises(RealModelCallBlocked):
            await model.complete(ModelRequest([{"role": "user", "content": "hi"}], []))
    finally:
        await model.client.close()
