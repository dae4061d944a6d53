"""Token streaming: ``create_stream(..., stream_tokens=True)`` shows the reply as it is written.

Against the real ``openai`` client over a streaming HTTP stand-in (an httpx2 ``MockTransport``
answering with server-sent events), and with the ``ChunkedModel`` double.
"""

import json
import re
from collections.abc import Callable
from typing import Any

import httpx2
from hypothesis import given
from hypothesis import strategies as st

from agent import (
    AssistantMessage,
    AsyncClient,
    Client,
    Message,
    ModelError,
    ModelRequest,
    ModelResponse,
    OpenAIModel,
    ReasoningMessage,
    StreamingModel,
    TextDelta,
    ToolCallDelta,
    UsageStatistics,
)
from agent._streaming import MessageField
from agent._text import repair_json
from agent.testing import ChunkedModel, ScriptedModel, call, send

MakeAsyncClient = Callable[..., AsyncClient]
MakeClient = Callable[..., Client]
USER = [{"role": "user", "content": "I like tea."}]
SURROGATE = re.compile("[\ud800-\udfff]")


def sse(*chunks: dict[str, Any]) -> bytes:
    events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(events).encode()


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice]}


def call_pieces(index: int, call_id: str, name: str, arguments: str, size: int) -> list[dict]:
    """A tool call as a server streams it: id and name first, then the arguments in pieces."""
    first = {"index": index, "id": call_id, "type": "function", "function": {"name": name}}
    first["function"]["arguments"] = ""
    pieces = [arguments[i : i + size] for i in range(0, len(arguments), size)]
    rest = [{"index": index, "function": {"arguments": p}} for p in pieces]
    return [chunk({"tool_calls": [d]}) for d in [first, *rest]]


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    usage = {"prompt_tokens": prompt, "completion_tokens": completion}
    return {"id": "chatcmpl-1", "choices": [], "usage": usage}


class Server:
    """Answers each request with the next server-sent-event stream; records the bodies."""

    def __init__(self, *streams: bytes) -> None:
        self.streams = list(streams)
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(json.loads(request.content))
        headers = {"content-type": "text/event-stream"}
        return httpx2.Response(200, headers=headers, content=self.streams.pop(0))

    def model(self, **options: Any) -> OpenAIModel:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))
        return OpenAIModel("openai/gpt-4o-mini", api_key="test", http_client=http, **options)


MESSAGE = 'Noted: you like tea "\u00e9" \U0001f375\nback\\slash.'
REMEMBER = json.dumps({"label": "human", "content": "Likes tea."})
REPLY = json.dumps({"message": MESSAGE})  # ASCII: the emoji is an escaped surrogate pair


def two_steps() -> list[bytes]:
    """A memory edit with reasoning, then the reply: every piece small, escapes split."""
    first = sse(
        chunk({"role": "assistant", "content": "  "}),
        *(chunk({"content": p}) for p in ["Remember ", "the tea", ".  ", " "]),
        *call_pieces(0, "c1", "core_memory_append", REMEMBER, 1),
        chunk({}, "tool_calls"),
        usage_chunk(30, 9),
    )
    second = sse(*call_pieces(0, "c2", "send_message", REPLY, 2), usage_chunk(40, 11))
    return [first, second]


class JsonServer(Server):
    """Answers each request with the next whole chat completion."""

    def __init__(self, *replies: dict[str, Any]) -> None:
        super().__init__()
        self.replies = list(replies)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=self.replies.pop(0))


def completion(content: str | None, name: str, arguments: str, call_id: str) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    calls = [{"id": call_id, "type": "function", "function": function}]
    message = {"role": "assistant", "content": content, "tool_calls": calls}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}


def whole_replies() -> list[dict[str, Any]]:
    """``two_steps``, whole."""
    return [
        completion("  Remember the tea.   ", "core_memory_append", REMEMBER, "c1"),
        completion(None, "send_message", REPLY, "c2"),
    ]


async def turn(client: AsyncClient, agent_id: str, **options: Any) -> list[Message]:
    stream = client.agents.messages.create_stream(agent_id=agent_id, messages=USER, **options)
    return [m async for m in stream]


async def agent_of(client: AsyncClient) -> str:
    blocks = [{"label": "human", "value": "Name: Bob"}]
    return (await client.agents.create(memory_blocks=blocks)).id


def texts(messages: list[Message], kind: type) -> dict[str, str]:
    """The text of each message of ``kind``, by id, its chunks joined."""
    joined: dict[str, str] = {}
    for m in messages:
        if isinstance(m, kind):
            text = m.content if isinstance(m, AssistantMessage) else m.reasoning
            joined[m.id] = joined.get(m.id, "") + text
    return joined


def history(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude={"id", "date"}) for m in messages]


async def test_the_reply_streams_and_is_stored_as_without_streaming(
    make_async_client: MakeAsyncClient,
) -> None:
    server = Server(*two_steps())
    client = make_async_client(model=server.model())
    agent_id = await agent_of(client)
    streamed = await turn(client, agent_id, stream_tokens=True)

    chunks = [m for m in streamed if isinstance(m, AssistantMessage)]
    assert len(chunks) > 10 and len({m.id for m in chunks}) == 1  # one message, in pieces
    reasoning = [m for m in streamed if isinstance(m, ReasoningMessage)]
    assert [m.reasoning for m in reasoning] == ["Remember", " the tea", "."]
    assert [m.message_type for m in streamed][-4:] == [
        "assistant_message",
        "assistant_message",
        "usage_statistics",
        "stop_reason",
    ]
    usage = next(m for m in streamed if isinstance(m, UsageStatistics))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.step_count) == (70, 20, 2)

    stored = await client.agents.messages.list(agent_id=agent_id)
    assert texts(streamed, AssistantMessage) == texts(stored, AssistantMessage)
    assert texts(streamed, ReasoningMessage) == texts(stored, ReasoningMessage)
    assert texts(stored, AssistantMessage) == {chunks[0].id: MESSAGE}
    call_message = next(m for m in streamed if m.message_type == "tool_call_message")
    assert call_message.tool_call.arguments == REMEMBER  # assembled from 40-odd pieces
    human = await client.agents.blocks.retrieve(agent_id, block_label="human")
    assert human.value == "Name: Bob\nLikes tea."

    # the same replies as whole JSON bodies, not streamed: the same history
    plain = make_async_client(model=JsonServer(*whole_replies()).model())
    plain_id = await agent_of(plain)
    whole = await turn(plain, plain_id)
    assert history(await plain.agents.messages.list(agent_id=plain_id)) == history(stored)
    assert [m.message_type for m in whole].count("assistant_message") == 1
    assert all(
        b["stream"] and b["stream_options"] == {"include_usage": True} for b in server.bodies
    )


async def test_chunks_hold_no_lone_surrogate(make_async_client: MakeAsyncClient) -> None:
    arguments = '{"message": "a\\ud83d\\ude00b\\ud800c"}'  # a pair, split below, and a lone one
    server = Server(
        sse(
            chunk({"content": "think \ud800 more"}),  # a lone surrogate in the text itself
            *call_pieces(0, "c1", "send_message", arguments, 1),
        )
    )
    client = make_async_client(model=server.model())
    agent_id = await agent_of(client)
    streamed = await turn(client, agent_id, stream_tokens=True)
    shown = [m.model_dump_json() for m in streamed]  # encodable: nothing unstorable
    assert not any(SURROGATE.search(json.loads(s).get("content") or "") for s in shown)
    assert "".join(texts(streamed, AssistantMessage).values()) == "a\U0001f600b\ufffdc"
    assert "".join(texts(streamed, ReasoningMessage).values()) == "think \ufffd more"
    stored = await client.agents.messages.list(agent_id=agent_id)
    assert texts(stored, AssistantMessage) == texts(streamed, AssistantMessage)
    assert any(m.message_type == "system_message" for m in stored)  # the model is told


def test_chunked_model_streams_and_stores_the_same(make_client: MakeClient) -> None:
    replies = [
        call("core_memory_append", label="human", content="Likes tea."),
        send("Tea it is, Bob!", reasoning="Say so."),
    ]
    model = ChunkedModel(replies, chunk_size=2)
    assert isinstance(model, StreamingModel) and not isinstance(ScriptedModel(), StreamingModel)
    client = make_client(model=model)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    streamed = list(
        client.agents.messages.create_stream(agent_id=agent.id, messages=USER, stream_tokens=True)
    )
    said = texts(streamed, AssistantMessage)
    assert list(said.values()) == ["Tea it is, Bob!"]
    assert [m.content for m in streamed if isinstance(m, AssistantMessage)][:2] == ["T", "ea"]
    assert list(texts(streamed, ReasoningMessage).values()) == ["Say so."]
    stored = client.agents.messages.list(agent_id=agent.id)
    assert said == texts(stored, AssistantMessage)

    other = make_client(model=ScriptedModel(replies))
    plain = other.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    other.agents.messages.create(agent_id=plain.id, messages=USER)
    assert history(other.agents.messages.list(agent_id=plain.id)) == history(stored)


def test_a_model_that_cannot_stream_gives_whole_messages(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel([send("Hello!", reasoning="Greet.")]))
    agent = client.agents.create()
    streamed = client.agents.messages.create_stream(
        agent_id=agent.id, messages=USER, stream_tokens=True
    )
    shown = [(m.message_type, getattr(m, "content", getattr(m, "reasoning", ""))) for m in streamed]
    assert shown[:2] == [("reasoning_message", "Greet."), ("assistant_message", "Hello!")]


async def test_a_stream_that_fails_midway_saves_nothing_of_the_step(
    make_async_client: MakeAsyncClient,
) -> None:
    model = ChunkedModel([ModelError("connection reset")], fail_after=2)
    client = make_async_client(model=model)
    agent_id = await agent_of(client)
    streamed = await turn(client, agent_id, stream_tokens=True)
    types = [m.message_type for m in streamed]
    assert types == ["reasoning_message"] * 2 + ["system_message", "usage_statistics"] + [
        "stop_reason"
    ]
    assert streamed[-1].stop_reason == "error"
    stored = await client.agents.messages.list(agent_id=agent_id)
    assert [m.message_type for m in stored] == ["user_message"]
    model.extend([send("Back again.")])  # the agent stays usable
    again = await turn(client, agent_id, stream_tokens=True)
    assert "".join(texts(again, AssistantMessage).values()) == "Back again."


async def test_leaving_a_stream_early_gives_the_agent_back(
    make_async_client: MakeAsyncClient,
) -> None:
    model = ChunkedModel([call("core_memory_append", label="human", content="x" * 30)])
    client = make_async_client(model=model)
    agent_id = await agent_of(client)
    stream = client.agents.messages.create_stream(
        agent_id=agent_id, messages=USER, stream_tokens=True
    )
    async for _ in stream:
        break
    await stream.aclose()
    model.extend([send("Fine.")])
    again = await turn(client, agent_id, stream_tokens=True)
    assert again[-1].stop_reason == "end_turn"
    human = await client.agents.blocks.retrieve(agent_id, block_label="human")
    assert human.value == "Name: Bob"


async def test_a_streamed_reply_that_fails_is_replaced_under_the_same_id(
    make_async_client: MakeAsyncClient,
) -> None:
    bad = call("send_message", message="Hi there", bogus=1)  # an unknown argument: an error
    client = make_async_client(model=ChunkedModel([bad, send("Hi there")]))
    agent_id = await agent_of(client)
    streamed = await turn(client, agent_id, stream_tokens=True)
    first = streamed[0]
    assert isinstance(first, AssistantMessage)
    replaced = next(m for m in streamed if m.message_type == "tool_call_message")
    assert replaced.id == first.id
    assert next(m for m in streamed if m.message_type == "tool_return_message").status == "error"
    assert streamed[-1].stop_reason == "end_turn"


async def test_the_openai_model_streams_events() -> None:
    server = Server(
        sse(
            chunk({"content": "hm"}),
            *call_pieces(0, "c1", "send_message", '{"message": "ok"}', 5),
            usage_chunk(3, 4),
        )
    )
    events = [e async for e in server.model().stream(ModelRequest(USER, []))]
    assert events[0] == TextDelta("hm")
    pieces = [e for e in events if isinstance(e, ToolCallDelta)]
    assert {(e.index, e.id, e.name) for e in pieces} == {(0, "c1", "send_message")}
    assert "".join(e.arguments for e in pieces) == '{"message": "ok"}'
    reply = events[-1]
    assert isinstance(reply, ModelResponse)
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (3, 4)
    assert "stream" not in server.model().body(ModelRequest(USER, []))  # complete() unchanged


ESCAPES = ["\\ud83d", "\\ude00", "\\ud800", '\\"', "\\\\"]
"""JSON escapes put in as they are (plain text is escaped by json.dumps)."""


@given(
    st.lists(st.text() | st.sampled_from(ESCAPES)),
    st.lists(st.integers(1, 7), min_size=1),
    st.booleans(),
)
def test_the_message_field_decodes_as_json_loads(
    parts: list[str], sizes: list[int], ascii_only: bool
) -> None:
    escaped = [p if p in ESCAPES else json.dumps(p, ensure_ascii=ascii_only)[1:-1] for p in parts]
    arguments = '{"other": {"message": "no"}, "message": "' + "".join(escaped) + '", "x": [1]}'
    expected = json.loads(repair_json(arguments)[0])["message"]
    decoder, out, at = MessageField(), [], 0
    for size in sizes * len(arguments):
        if at >= len(arguments):
            break
        out.append(decoder.feed(arguments[at : at + size]))
        at += size
    assert "".join(out) == expected
