"""The context window: accounting, eviction to recall, the recursive summary, pressure notes.

The model is a ``FunctionModel`` throughout: a request without tools (``tool_choice="none"``)
is the summarizer's; every other request is the agent's.
"""

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent import (
    AgentState,
    AsyncClient,
    ConfigError,
    ModelRequest,
    ModelResponse,
    ModelUsage,
    Response,
    ToolCall,
    ToolReturnMessage,
)
from agent._context import ContextManager, ContextState
from agent._history import Record
from agent._tokens import EstimateCounter, count_messages, count_tools
from agent.store import SQLiteStore as Store
from agent.store import is_url
from agent.testing import FunctionModel, call, calls, send

MakeClient = Callable[..., AsyncClient]
NOTE = "[System note] Your context window is"
SUMMARY_HEADER = re.compile(r"^Summary of the (\d+) earliest messages of this conversation")
WORDS = (
    "apple river mountain lantern copper violin garden harbor pencil meadow thunder basket "
    "silver orchard candle marble falcon compass winter biscuit"
).split()


def filler(i: int, words: int = 60) -> str:
    """A distinct user message of about ``words`` words."""
    return f"message {i}: " + " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(words))


def tokens_of(text: str, role: str = "user") -> int:
    return count_messages(EstimateCounter(), [{"role": role, "content": text}])


def estimate(request: ModelRequest) -> int:
    """The prompt of a request, by the same estimate the engine uses."""
    counter = EstimateCounter()
    return count_messages(counter, request.messages) + count_tools(counter, request.tools)


def agent_requests(model: FunctionModel) -> list[ModelRequest]:
    return [r for r in model.requests if r.tools]


def summarizer_requests(model: FunctionModel) -> list[ModelRequest]:
    return [r for r in model.requests if not r.tools]


def assert_valid(requests: list[ModelRequest]) -> None:
    """Every agent request: system prompt first, each call answered, each result called."""
    for n, request in enumerate(requests):
        if not request.tools:
            assert request.tool_choice == "none"
            assert [m["role"] for m in request.messages] == ["system", "user"]
            continue
        assert request.messages[0]["role"] == "system", f"request {n}"
        pending: set[str] = set()
        for m in request.messages:
            if m["role"] == "tool":
                assert m["tool_call_id"] in pending, f"request {n}: a result without its call"
                pending.remove(m["tool_call_id"])
                continue
            assert not pending, f"request {n}: calls {pending} without results"
            if m["role"] == "assistant":
                pending = {c["id"] for c in m.get("tool_calls") or ()}
        assert not pending, f"request {n}: calls {pending} without results"


def this_turn(request: ModelRequest) -> list[str]:
    """The roles of the messages after the newest user message."""
    roles = [m["role"] for m in request.messages]
    return roles[len(roles) - roles[::-1].index("user") :]


def notes_this_turn(request: ModelRequest) -> int:
    """Memory-pressure notes after the newest user message (added in this turn)."""
    last_user = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    return sum(1 for m in request.messages[last_user:] if NOTE in str(m["content"]))


def summary_of(request: ModelRequest) -> tuple[int, str] | None:
    """``(messages covered, text)`` of the summary message of an agent request, if any."""
    second = request.messages[1]
    match = SUMMARY_HEADER.match(str(second["content"])) if second["role"] == "system" else None
    return (int(match[1]), str(second["content"])) if match else None


class Chat:
    """The model's side: ``reply(request)`` answers the agent, numbered summaries the rest.

    With ``watch`` set to ``(client, agent_id)``, each agent request also records what
    ``context.retrieve`` said at that moment (the measure the request was sent with).
    """

    def __init__(
        self,
        reply: Callable[[ModelRequest], ModelResponse] | None = None,
        *,
        summary: str = "SUMMARY-{n}",
        prompt_tokens: int = 10,
        summarizer: Callable[[ModelRequest], ModelResponse] | None = None,
    ) -> None:
        self.reply = reply or (lambda request: send("ok"))
        self.summary = summary
        self.prompt_tokens = prompt_tokens
        self.summarizer = summarizer
        self.summaries: list[str] = []
        self.watch: tuple[AsyncClient, str] | None = None
        self.measures: list[Any] = []
        self.model = FunctionModel(self)

    async def __call__(self, request: ModelRequest) -> ModelResponse:
        if not request.tools:
            assert request.tool_choice == "none"
            if self.summarizer is not None:
                return self.summarizer(request)
            self.summaries.append(self.summary.format(n=len(self.summaries) + 1))
            return ModelResponse(self.summaries[-1], [], ModelUsage(self.prompt_tokens, 20))
        if self.watch is not None:
            client, agent_id = self.watch
            self.measures.append(await client.agents.context.retrieve(agent_id=agent_id))
        return replace(self.reply(request), usage=ModelUsage(self.prompt_tokens, 5))


async def small_agent(client: AsyncClient, window: int = 4000, **create: Any) -> AgentState:
    """An agent with only ``send_message`` (small tool schemas) and a small window."""
    create.setdefault("include_base_tools", False)
    create.setdefault("tools", ["send_message"])
    return await client.agents.create(context_window_limit=window, **create)


async def say(client: AsyncClient, agent: AgentState, text: str) -> Response:
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": text}]
    )
    assert response.stop_reason == "end_turn"
    return response


def shout(text: str) -> str:
    """Repeat text loudly.

    Args:
        text: What to repeat.
    """
    return text.upper()


def fetch_page() -> str:
    """Fetch a very long page."""
    return "word " * 20_000


# -- window sizes ------------------------------------------------------------------------


async def test_known_models_get_their_window(make_async_client: MakeClient, database: str) -> None:
    client = make_async_client(database, model=Chat().model)
    agent = await client.agents.create()
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert (window.context_window_limit, window.window_known) == (128_000, True)
    assert window.counter == "estimate"


async def test_unknown_models_get_a_safe_default_and_a_warning(
    make_async_client: MakeClient, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_async_client(database, model=Chat().model)
    with caplog.at_level(logging.WARNING):
        agent = await client.agents.create(model="mystery/model-7b")
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert (window.context_window_limit, window.window_known) == (8_192, False)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "'mystery/model-7b'" in m and "8192" in m and "context_window_limit" in m for m in warned
    )


async def test_context_window_limit_overrides_the_window(
    make_async_client: MakeClient, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_async_client(database, model=Chat().model)
    with caplog.at_level(logging.WARNING):
        mystery = await client.agents.create(model="mystery/model-7b", context_window_limit=5000)
        known = await client.agents.create(context_window_limit=3000)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for agent, size in ((mystery, 5000), (known, 3000)):
        window = await client.agents.context.retrieve(agent_id=agent.id)
        assert (window.context_window_limit, window.window_known) == (size, True)


@pytest.mark.parametrize(
    ("create", "problem"),
    [
        ({"context_window_limit": 100}, "context_window_limit must be at least 256, got 100"),
        ({"context": {"evict_at": 0.5, "evict_to": 0.6}}, "evict_to must be below evict_at"),
        ({"context": {"evict_at": 1.5}}, r"context: evict_at: "),
        ({"context": {"warn_at": 0}}, r"context: warn_at: "),
    ],
)
async def test_bad_context_settings_are_refused(
    make_async_client: MakeClient, database: str, create: dict[str, Any], problem: str
) -> None:
    client = make_async_client(database, model=Chat().model)
    with pytest.raises(ConfigError, match=problem):
        await client.agents.create(**create)


# -- the breakdown -----------------------------------------------------------------------


async def test_the_breakdown_adds_up(make_async_client: MakeClient, database: str) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob. Likes tea and long walks."}],
        context_window_limit=4000,
    )
    for i in range(12):
        await say(client, agent, filler(i))
    window = await client.agents.context.retrieve(agent_id=agent.id)
    counter = EstimateCounter()
    parts = (
        window.system_tokens,
        window.core_memory_tokens,
        window.tools_tokens,
        window.summary_tokens,
        window.messages_tokens,
    )
    assert window.correction == 1.0
    assert window.total_tokens == round(sum(parts) * window.correction)
    assert window.system_tokens == counter.count(agent.system)
    assert window.core_memory_tokens >= counter.count("Name: Bob. Likes tea and long walks.")
    assert window.tools_tokens == count_tools(counter, agent_requests(chat.model)[-1].tools)
    assert window.summary == chat.summaries[-1]
    assert window.summary_tokens > 0
    assert window.summarized_messages > 0
    # every stored message is either in the window or covered by the summary
    assert window.messages_in_recall == window.summarized_messages + window.messages_in_context
    assert window.messages_in_recall >= 3 * 12  # user, send_message call, its receipt; notes


async def test_the_breakdown_adds_up_with_a_correction(
    make_async_client: MakeClient, database: str
) -> None:
    chat = Chat(prompt_tokens=5_000)
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    await say(client, agent, filler(1))
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert window.correction > 1
    parts = (
        window.system_tokens
        + window.core_memory_tokens
        + window.tools_tokens
        + window.summary_tokens
        + window.messages_tokens
    )
    assert window.total_tokens == round(parts * window.correction)
    assert window.total_tokens > parts


# -- eviction ----------------------------------------------------------------------------


async def test_eviction_happens_exactly_when_the_threshold_is_passed(
    make_async_client: MakeClient,
    database: str,
) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    limit = 0.75 * 4000
    evicted_at = []
    for i in range(40):
        before = await client.agents.context.retrieve(agent_id=agent.id)
        summaries = len(chat.summaries)
        text = filler(i)
        await say(client, agent, text)
        passed = before.total_tokens + tokens_of(text) > limit
        assert (len(chat.summaries) > summaries) == passed, f"turn {i}"
        if passed:
            evicted_at.append(i)
    assert len(evicted_at) >= 3
    assert_valid(chat.model.requests)


async def test_eviction_brings_the_prompt_down_to_the_target(
    make_async_client: MakeClient,
    database: str,
) -> None:
    # a summary of realistic size: it sits in the window too
    chat = Chat(summary="SUMMARY-{n}: " + " ".join(WORDS * 3))
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    chat.watch = (client, agent.id)
    for i in range(30):
        summaries = len(chat.summaries)
        await say(client, agent, filler(i))
        measure = chat.measures[-1]
        assert measure.total_tokens <= 0.75 * 4000, f"turn {i}"
        if len(chat.summaries) > summaries:
            assert measure.total_tokens <= 0.5 * 4000, f"turn {i}: {measure}"


async def test_custom_thresholds_move_eviction(
    make_async_client: MakeClient, database: str
) -> None:
    early, late = Chat(), Chat()
    client = make_async_client(database, model=early.model)
    first = await small_agent(client, context={"evict_at": 0.4, "evict_to": 0.2})
    other = make_async_client(database, model=late.model)
    second = await small_agent(other, context={"evict_at": 0.9, "evict_to": 0.6})
    turns: list[int] = []
    for chat, c, agent in ((early, client, first), (late, other, second)):
        for i in range(30):
            await say(c, agent, filler(i))
            if chat.summaries:
                turns.append(i)
                break
    assert turns[0] < turns[1]
    measure = await client.agents.context.retrieve(agent_id=first.id)
    assert measure.total_tokens <= 0.4 * 4000


async def test_the_newest_user_message_is_never_evicted(
    make_async_client: MakeClient, database: str
) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    for i in range(5):
        await say(client, agent, filler(i))
    huge = filler(99, words=1400)  # over 3,000 tokens: the turn alone passes evict_at
    await say(client, agent, huge)
    request = agent_requests(chat.model)[-1]
    assert request.last_user_message == huge
    assert request.messages[-1]["content"] == huge  # nothing after it was lost either
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert window.summarized_messages == 5 * 3  # everything before the current turn


async def test_the_current_turn_is_kept_whole(make_async_client: MakeClient, database: str) -> None:
    def reply(request: ModelRequest) -> ModelResponse:
        done = this_turn(request).count("tool")
        return call("shout", text=filler(done, words=80)) if done < 4 else send("done")

    chat = Chat(reply)
    client = make_async_client(database, model=chat.model)
    await client.tools.upsert_from_function(func=shout)
    agent = await small_agent(client, tools=["send_message", "shout"])
    await say(client, agent, "first " + filler(0, words=100))
    response = await say(client, agent, "second " + filler(1, words=150))
    assert len(response.messages) == 4 * 2 + 1
    assert chat.summaries  # the second turn passed evict_at on its way
    turn = agent_requests(chat.model)[-5:]
    for n, request in enumerate(turn):  # each step of the turn sees all its earlier steps
        assert str(request.last_user_message).startswith("second ")
        assert this_turn(request).count("tool") == n
    users = [m["content"] for m in turn[-1].messages if m["role"] == "user"]
    assert len(users) == 1  # while the first turn was evicted
    assert_valid(chat.model.requests)


async def test_pairs_are_never_split_in_a_long_run(
    make_async_client: MakeClient, database: str
) -> None:
    rng = random.Random(7)

    def reply(request: ModelRequest) -> ModelResponse:
        # up to three steps of 0-3 calls each: a turn stays well inside the window
        n = rng.randrange(0, 4) if this_turn(request).count("assistant") < 2 else 0
        if not n:
            return send("done " + filler(rng.randrange(100), words=rng.randrange(1, 30)))
        words = rng.randrange(1, 40)
        return calls(*[("shout", {"text": filler(rng.randrange(100), words=words)})] * n)

    chat = Chat(reply)
    client = make_async_client(database, model=chat.model)
    await client.tools.upsert_from_function(func=shout)
    agent = await small_agent(client, tools=["send_message", "shout"])
    for i in range(120):
        await say(client, agent, filler(i, words=rng.randrange(5, 100)))
    assert len(chat.summaries) > 5
    assert_valid(chat.model.requests)
    assert max(estimate(r) for r in agent_requests(chat.model)) <= 4000


# -- the cut point, as a property --------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> list[Record]:
    """User messages, each followed by steps: an assistant message with 0-3 calls, answered."""
    text = st.text(alphabet="abc xyz", max_size=200)
    records: list[Record] = []
    for _ in range(draw(st.integers(1, 6))):
        records.append(Record("user", draw(text)))
        for _ in range(draw(st.integers(0, 3))):
            n = len(records)
            made = [
                ToolCall(name="shout", arguments="{}", tool_call_id=f"call_{n}_{k}")
                for k in range(draw(st.integers(0, 3)))
            ]
            records.append(Record("assistant", draw(text), made))
            records += [
                Record("tool", draw(text), [], c.tool_call_id, "success", name="shout")
                for c in made
            ]
            if draw(st.booleans()):
                records.append(Record("system", draw(text)))
    return records


def cost(records: list[Record]) -> int:
    return count_messages(EstimateCounter(), [r.openai() for r in records])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.integers(0, 3000))
def test_the_cut_never_parts_a_call_from_its_result(context: list[Record], excess: int) -> None:
    store = Store(":memory:")  # SQLite alone: the cut is pure, the store is only its owner
    try:
        state = ContextState(4000, True, EstimateCounter())
        cut = ContextManager(store).cut_point(state, context, excess)
    finally:
        store.close()
    newest_user = max(i for i, r in enumerate(context) if r.role == "user")
    assert 0 <= cut <= newest_user  # the newest user message and what follows always stay
    kept_ids = {c.tool_call_id for r in context[cut:] for c in r.tool_calls}
    gone_ids = {c.tool_call_id for r in context[:cut] for c in r.tool_calls}
    assert all(r.tool_call_id in kept_ids for r in context[cut:] if r.role == "tool")
    assert all(r.tool_call_id in gone_ids for r in context[:cut] if r.role == "tool")
    if cut < newest_user:  # enough was freed, and no more groups than needed
        assert cost(context[:cut]) >= excess
    if cut > 0:
        previous = max(i for i in range(cut) if context[i].role != "tool")
        assert cost(context[:previous]) < excess


# -- the recursive summary ---------------------------------------------------------------


async def test_the_summary_is_recursive_and_sits_after_the_system_prompt(
    make_async_client: MakeClient,
    database: str,
) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    for i in range(40):
        await say(client, agent, filler(i))
    summarizing = summarizer_requests(chat.model)
    assert len(summarizing) >= 2
    assert "(none yet)" in summarizing[0].messages[1]["content"]
    for n, request in enumerate(summarizing[1:], start=1):
        assert f"Previous summary:\nSUMMARY-{n}\n" in request.messages[1]["content"]
    assert "message 0:" in summarizing[0].messages[1]["content"]  # the evicted messages
    window = await client.agents.context.retrieve(agent_id=agent.id)
    found = summary_of(agent_requests(chat.model)[-1])
    assert found is not None
    covered, content = found
    assert covered == window.summarized_messages > 0
    assert content.endswith(f"\n{chat.summaries[-1]}")
    assert window.summary == chat.summaries[-1]
    assert_valid(chat.model.requests)


async def test_a_separate_summarizer_writes_the_summary(database: str) -> None:
    chat, writer = Chat(), Chat()
    client = AsyncClient(database, model=chat.model, summarizer=writer.model)
    try:
        agent = await small_agent(client)
        for i in range(20):
            await say(client, agent, filler(i))
        window = await client.agents.context.retrieve(agent_id=agent.id)
    finally:
        client.close()
    assert summarizer_requests(chat.model) == []
    assert writer.summaries
    assert agent_requests(writer.model) == []
    assert window.summary == writer.summaries[-1]


async def test_a_long_eviction_is_summarized_in_parts_each_within_budget(
    make_async_client: MakeClient,
    database: str,
) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    window = 2000
    agent = await small_agent(client, window, context={"evict_at": 0.95, "evict_to": 0.1})
    texts = [filler(i, words=20) for i in range(40)]
    texts[1] = filler(1, words=330)  # one message longer than a part
    sent = 0
    while not chat.summaries:
        await say(client, agent, texts[sent])
        sent += 1
    summarizing = summarizer_requests(chat.model)
    assert len(summarizing) >= 3  # one eviction, several calls
    for request in summarizing:
        assert estimate(request) <= 0.5 * window
    for n, request in enumerate(summarizing[1:], start=1):
        assert f"Previous summary:\nSUMMARY-{n}\n" in request.messages[1]["content"]
    seen = "\n".join(str(r.messages[1]["content"]) for r in summarizing)
    kept = str(agent_requests(chat.model)[-1].messages)
    evicted = [i for i in range(sent) if f"message {i}:" not in kept]
    assert len(evicted) >= 8
    for i in evicted:
        assert f"message {i}:" in seen  # every evicted message went into some part


async def test_a_failing_summarizer_does_not_fail_the_turn(
    make_async_client: MakeClient, database: str
) -> None:
    outcomes: list[str | Exception] = ["first summary", RuntimeError("summarizer down"), "third"]

    def summarize(request: ModelRequest) -> ModelResponse:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return ModelResponse(outcome, [], ModelUsage(10, 5))

    chat = Chat(summarizer=summarize)
    client = make_async_client(database, model=chat.model)
    # small evictions, so that each is summarized in one call: one outcome per eviction
    agent = await small_agent(client, context={"evict_at": 0.75, "evict_to": 0.6})
    seen: list[Any] = []
    for i in range(300):  # until three evictions have happened
        await say(client, agent, filler(i))  # asserts stop_reason == "end_turn"
        window = await client.agents.context.retrieve(agent_id=agent.id)
        if not seen or window.summarized_messages != seen[-1].summarized_messages:
            seen.append(window)
        if not outcomes:
            break
    _, first, failed, third = seen
    assert (first.summary, first.last_summary_error) == ("first summary", None)
    assert failed.summary == "first summary"  # kept
    assert failed.last_summary_error == "RuntimeError: summarizer down"
    assert failed.summarized_messages > first.summarized_messages  # evicted all the same
    assert failed.messages_in_recall == failed.summarized_messages + failed.messages_in_context
    assert (third.summary, third.last_summary_error) == ("third", None)
    assert_valid(chat.model.requests)


async def test_a_failed_first_summary_still_says_what_is_missing(
    make_async_client: MakeClient,
    database: str,
) -> None:
    def summarize(request: ModelRequest) -> ModelResponse:
        raise RuntimeError("no summaries today")

    chat = Chat(summarizer=summarize)
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    for i in range(15):
        await say(client, agent, filler(i))
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert window.summarized_messages > 0
    assert window.summary == ""
    assert window.last_summary_error == "RuntimeError: no summaries today"
    found = summary_of(agent_requests(chat.model)[-1])
    assert found is not None
    assert found[0] == window.summarized_messages
    assert "search recall memory" in found[1]


async def test_the_summary_survives_reopening(make_async_client: MakeClient, database: str) -> None:
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    for i in range(15):
        await say(client, agent, filler(i))
    before = await client.agents.context.retrieve(agent_id=agent.id)
    client.close()
    again = Chat()
    reopened = make_async_client(database, model=again.model)
    after = await reopened.agents.context.retrieve(agent_id=agent.id)
    assert before.summarized_messages > 0
    assert after == before
    await say(reopened, agent, "hello again")
    found = summary_of(agent_requests(again.model)[0])
    assert found is not None
    assert found[1].endswith(before.summary)


# -- recall keeps everything -------------------------------------------------------------


async def test_recall_finds_an_evicted_message(
    make_async_client: MakeClient, database: str
) -> None:
    def reply(request: ModelRequest) -> ModelResponse:
        if request.messages[-1]["role"] == "tool":
            return send(str(request.messages[-1]["content"]))
        if request.last_user_message == "What was my cat called?":
            return call("conversation_search", query="Zorblax")
        return send("ok")

    chat = Chat(reply)
    client = make_async_client(database, model=chat.model)
    agent = await client.agents.create(context_window_limit=6000)  # the base tools
    await say(client, agent, "My cat is called Zorblax.")
    for i in range(40):
        await say(client, agent, filler(i))
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert window.summarized_messages > 0
    latest = agent_requests(chat.model)[-1]
    assert not any("Zorblax" in str(m["content"]) for m in latest.messages)  # out of view
    assert agent.recall is not None
    found = await agent.recall.search("Zorblax")
    assert found.total == 1
    assert found.results[0].content == "My cat is called Zorblax."
    response = await say(client, agent, "What was my cat called?")
    returned = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert "My cat is called Zorblax." in returned[0].tool_return
    assert_valid(chat.model.requests)


# -- memory pressure ---------------------------------------------------------------------


async def test_past_the_warning_the_model_is_told_once_until_the_next_eviction(
    make_async_client: MakeClient,
    database: str,
) -> None:
    def reply(request: ModelRequest) -> ModelResponse:  # two steps a turn
        return send("ok") if this_turn(request).count("tool") else call("shout", text="noted")

    chat = Chat(reply)
    client = make_async_client(database, model=chat.model)
    await client.tools.upsert_from_function(func=shout)
    config = {"warn_at": 0.5, "evict_at": 0.9, "evict_to": 0.3}
    agent = await small_agent(client, tools=["send_message", "shout"], context=config)
    warned, notes = False, 0
    for i in range(40):
        before = await client.agents.context.retrieve(agent_id=agent.id)
        start, summaries = len(chat.model.requests), len(chat.summaries)
        text = filler(i)
        await say(client, agent, text)
        turn = [r for r in chat.model.requests[start:] if r.tools]
        assert len(turn) == 2
        measure = before.total_tokens + tokens_of(text)
        evicted = len(chat.summaries) > summaries
        expected = 0 if evicted or warned else int(measure > 0.5 * 4000)
        warned = False if evicted else warned or bool(expected)
        # in the turn's first request, and still just once in its second
        assert [notes_this_turn(r) for r in turn] == [expected, expected], f"turn {i}"
        notes += expected
        if expected:
            note = next(m for m in turn[0].messages if NOTE in str(m["content"]))
            assert note["role"] == "system"
            assert f"{round(100 * measure / 4000)}% full" in note["content"]
            assert "core_memory_append" in note["content"]
            assert "archival_memory_insert" in note["content"]
    assert len(chat.summaries) >= 2
    assert notes >= 2  # once in each cycle between evictions


# -- oversized tool results --------------------------------------------------------------


async def test_an_oversized_tool_result_is_cut_with_a_note(
    make_async_client: MakeClient, database: str
) -> None:
    def reply(request: ModelRequest) -> ModelResponse:
        if request.messages[-1]["role"] == "tool":
            return send("that page was long")
        return call("fetch_page")

    chat = Chat(reply)
    client = make_async_client(database, model=chat.model)
    await client.tools.upsert_from_function(func=fetch_page)
    agent = await small_agent(client, tools=["send_message", "fetch_page"])
    response = await say(client, agent, "fetch it")
    returned = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert returned.tool_return.startswith("word word")
    assert len(returned.tool_return) < 5_000
    assert "[cut: this result was too long for the context window" in returned.tool_return
    assert re.search(r"; \d+ of \d+ characters omitted\]$", returned.tool_return)
    seen = agent_requests(chat.model)[-1]
    assert seen.messages[-1]["content"] == returned.tool_return
    assert max(estimate(r) for r in agent_requests(chat.model)) <= 4000
    assert_valid(chat.model.requests)


# -- reconciling with the provider's count -----------------------------------------------


async def test_reported_usage_raises_the_correction_and_evicts_earlier(
    make_async_client: MakeClient,
    database: str,
) -> None:
    honest, big = Chat(prompt_tokens=1), Chat(prompt_tokens=1_000_000)
    first_eviction = []
    for chat in (honest, big):
        client = make_async_client(database, model=chat.model)
        agent = await small_agent(client)
        for i in range(40):
            await say(client, agent, filler(i))
            if chat.summaries:
                first_eviction.append(i)
                break
        window = await client.agents.context.retrieve(agent_id=agent.id)
        if chat is honest:
            assert window.correction == 1.0  # tiny reported usage never lowers it
        else:
            assert 1 < window.correction <= 4
    assert first_eviction[1] < first_eviction[0]


async def test_the_correction_stays_clamped(make_async_client: MakeClient, database: str) -> None:
    chat = Chat(prompt_tokens=10**9)
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client, window=100_000)
    for i in range(30):
        await say(client, agent, f"hi {i}")
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert 3.9 < window.correction <= 4


# -- bounded, however long -----------------------------------------------------------------


async def test_the_prompt_stays_bounded_over_many_turns(
    make_async_client: MakeClient, database: str
) -> None:
    # 2,000 turns on SQLite; a PostgreSQL turn is a dozen round trips to a server and two
    # commits, so 300 there (still some 50 evictions) keep the test within seconds
    turns = 300 if is_url(database) else 2000
    rng = random.Random(2000)
    chat = Chat()
    client = make_async_client(database, model=chat.model)
    agent = await small_agent(client)
    started = time.perf_counter()
    for i in range(turns):
        await say(client, agent, filler(i, words=rng.randrange(1, 120)))
    elapsed = time.perf_counter() - started
    requests = agent_requests(chat.model)
    assert len(requests) == turns
    assert max(estimate(r) for r in requests) <= 4000
    assert_valid(chat.model.requests)
    window = await client.agents.context.retrieve(agent_id=agent.id)
    assert window.messages_in_recall >= 3 * turns
    assert window.messages_in_recall == window.summarized_messages + window.messages_in_context
    assert window.total_tokens <= 0.75 * 4000
    assert elapsed < 30, f"{turns:,} turns took {elapsed:.1f}s"
