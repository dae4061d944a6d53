"""Recall memory: searching the whole conversation, in context or not, within dates."""

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from agent import AgentState, AsyncClient, Response, ToolReturnMessage
from agent._history import Record
from agent.testing import ScriptedModel, call, send

UTC = timezone.utc


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
async def client(database: str, model: ScriptedModel) -> AsyncIterator[AsyncClient]:
    """A client on each backend."""
    made = AsyncClient(database, model=model)
    yield made
    made.close()


@pytest.fixture
async def agent(client: AsyncClient) -> AgentState:
    return await client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])


async def turn(client: AsyncClient, agent: AgentState, text: str, *replies: Any) -> Response:
    model = client.model
    assert isinstance(model, ScriptedModel)
    model.extend(replies)
    response = await client.agents.messages.create(
        agent_id=agent.id, messages=[{"role": "user", "content": text}]
    )
    assert response.stop_reason == "end_turn"
    return response


async def search(agent: AgentState, query: str, **options: Any) -> Any:
    assert agent.recall is not None
    return await agent.recall.search(query, **options)


def said(page: Any) -> list[tuple[str, str]]:
    return [(m.message_type, getattr(m, "content", None) or m.reasoning) for m in page.results]


def forget_everything(client: AsyncClient, agent: AgentState) -> None:
    """Take every message out of the agent's context, as a summarizer would."""
    client.store.db.execute("UPDATE messages SET in_context = 0 WHERE agent_id = ?", (agent.id,))
    client.live(agent.id).context.clear()


# -- what is found -----------------------------------------------------------------------


async def test_user_messages_and_replies_are_found(client: AsyncClient, agent: AgentState) -> None:
    await turn(client, agent, "My cat is called Miso.", send("Miso is a lovely name!"))
    await turn(client, agent, "I also drink a lot of tea.", send("Noted, tea it is."))
    found = await search(agent, "Miso")
    assert found.total == 2
    assert sorted(said(found)) == [
        ("assistant_message", "Miso is a lovely name!"),
        ("user_message", "My cat is called Miso."),
    ]
    assert sorted(said(await search(agent, "tea"))) == [
        ("assistant_message", "Noted, tea it is."),
        ("user_message", "I also drink a lot of tea."),
    ]


async def test_tool_plumbing_is_left_out(client: AsyncClient, agent: AgentState) -> None:
    await turn(
        client,
        agent,
        "My cat is called Miso.",
        call("archival_memory_insert", content="Bob's cat is called Miso."),
        send("Miso is a lovely name!"),
    )
    await turn(
        client,
        agent,
        "What is my cat called?",
        call("conversation_search", query="Miso cat"),
        call("archival_memory_search", query="Miso cat"),
        send("Your cat is Miso."),
    )
    found = await search(agent, "Miso", page_size=50)
    assert sorted(said(found)) == [
        ("assistant_message", "Miso is a lovely name!"),
        ("assistant_message", "Your cat is Miso."),
        ("user_message", "My cat is called Miso."),
    ]
    assert found.total == 3
    # search results and send_message receipts are nowhere to be found
    assert (await search(agent, "conversation")).total == 0
    assert (await search(agent, "page results")).total == 0
    assert (await search(agent, "sent successfully")).total == 0


async def test_the_search_tool_does_not_find_its_own_earlier_results(
    client: AsyncClient, agent: AgentState
) -> None:
    await turn(client, agent, "My cat is called Miso.", send("Lovely!"))
    await turn(
        client,
        agent,
        "Remind me?",
        call("conversation_search", query="Miso"),
        call("conversation_search", query="Miso"),
        send("Miso."),
    )
    first, second = (
        m
        for m in (await client.agents.messages.list(agent_id=agent.id))
        if isinstance(m, ToolReturnMessage)
    )
    assert first.tool_return == second.tool_return
    assert "page 1 of 1, 1 results" in first.tool_return
    assert "My cat is called Miso." in first.tool_return


async def test_messages_out_of_context_are_still_found(
    client: AsyncClient, agent: AgentState, model: ScriptedModel
) -> None:
    await turn(client, agent, "My cat is called Miso.", send("Miso is a lovely name!"))
    forget_everything(client, agent)
    await turn(
        client,
        agent,
        "What is my cat called?",
        call("conversation_search", query="cat called"),
        send("Miso."),
    )
    request = model.requests[-2]  # the one that ran the search
    assert "Miso" not in str(request.messages)  # gone from the context the model sees
    answer = model.requests[-1].messages[-1]
    assert answer["role"] == "tool"
    assert "My cat is called Miso." in answer["content"]
    assert "user_message" in answer["content"]
    found = await search(agent, "Miso")
    assert found.total == 3  # both old messages, and the last reply
    assert agent.recall is not None
    assert agent.recall.count() == len(client.store.messages(agent.id))


async def test_each_agent_searches_only_its_own_conversation(
    client: AsyncClient, agent: AgentState
) -> None:
    other = await client.agents.create()
    await turn(client, agent, "My cat is called Miso.", send("Nice."))
    await turn(client, other, "My dog is called Rex.", send("Nice."))
    assert said(await search(agent, "Rex")) == []
    assert said(await search(other, "Rex")) == [("user_message", "My dog is called Rex.")]


@pytest.mark.parametrize("query", ["", "   ", "?!", '"', "NEAR(", "cat*"])
async def test_any_query_text_is_safe(client: AsyncClient, agent: AgentState, query: str) -> None:
    await turn(client, agent, "My cat is called Miso.", send("Nice."))
    found = await search(agent, query)
    assert found.total >= len(found.results)


async def test_the_best_match_comes_first(client: AsyncClient, agent: AgentState) -> None:
    for text in [
        "We talked about the weather today.",
        "The garden needs watering again.",
        "The wind broke the garden fence last night.",
        "The fence of the neighbours is new.",
        "Nothing much happened.",
    ]:
        await turn(client, agent, text, send("Ok."))
    found = await search(agent, "garden fence")
    assert said(found)[0] == ("user_message", "The wind broke the garden fence last night.")
    assert found.total == 3


# -- paging ------------------------------------------------------------------------------


async def test_paging_covers_every_result_once(client: AsyncClient, agent: AgentState) -> None:
    for i in range(12):
        await turn(client, agent, f"Reminder number {i}: water the plants.", send(f"Done {i}."))
    first = await search(agent, "plants", page_size=5)
    assert (first.total, first.pages) == (12, 3)
    ids: list[str] = []
    for number in range(first.pages):
        page = await search(agent, "plants", page=number, page_size=5)
        assert (page.page, page.total, page.pages) == (number, 12, 3)
        assert page.summary() == f"page {number + 1} of 3, 12 results"
        ids += [m.id for m in page.results]
    assert len(ids) == len(set(ids)) == 12
    past = await search(agent, "plants", page=3, page_size=5)
    assert (past.results, past.total) == ([], 12)


async def test_a_step_with_reasoning_counts_as_found_messages(
    client: AsyncClient, agent: AgentState
) -> None:
    # one model reply holds reasoning and a send_message: each result must match, and the
    # results of every page add up to the total
    for i in range(3):
        await turn(
            client,
            agent,
            f"Hello {i}",
            send(f"Reply {i}.", reasoning=f"The user greets me about Miso, time {i}."),
        )
    first = await search(agent, "Miso", page_size=2)
    results = []
    for number in range(first.pages):
        page = await search(agent, "Miso", page=number, page_size=2)
        assert len(page.results) <= 2
        results += said(page)
    assert len(results) == first.total
    assert all("Miso" in text for _, text in results)


# -- dates -------------------------------------------------------------------------------

STAMPS = {
    "jan3": datetime(2024, 1, 3, 9, 0, tzinfo=UTC),
    "jan5-midnight": datetime(2024, 1, 5, 0, 0, tzinfo=UTC),
    "jan5-noon": datetime(2024, 1, 5, 12, 0, tzinfo=UTC),
    "jan5-late": datetime(2024, 1, 5, 23, 59, 59, 500000, tzinfo=UTC),
    "jan6-midnight": datetime(2024, 1, 6, 0, 0, tzinfo=UTC),
    "jan8": datetime(2024, 1, 8, 18, 30, tzinfo=UTC),
}


@pytest.fixture
def dated(client: AsyncClient, agent: AgentState) -> AgentState:
    client.store.add_messages(
        agent.id,
        [Record("user", f"Status report {key}.", created_at=at) for key, at in STAMPS.items()],
    )
    return agent


def keys(page: Any) -> set[str]:
    return {m.content.removeprefix("Status report ").rstrip(".") for m in page.results}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, set(STAMPS)),
        ("2024-01-05", "2024-01-05", {"jan5-midnight", "jan5-noon", "jan5-late"}),
        (None, "2024-01-05", {"jan3", "jan5-midnight", "jan5-noon", "jan5-late"}),
        ("2024-01-06", None, {"jan6-midnight", "jan8"}),
        (date(2024, 1, 4), date(2024, 1, 6), set(STAMPS) - {"jan3", "jan8"}),
        ("2024-01-09", None, set()),
        (None, "2024-01-02", set()),
        (
            datetime(2024, 1, 5, 12, 0, tzinfo=UTC),
            None,
            {"jan5-noon", "jan5-late", "jan6-midnight", "jan8"},
        ),
        (  # the same instant, written in another time zone
            datetime(2024, 1, 5, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-06",
            {"jan5-noon", "jan5-late", "jan6-midnight"},
        ),
        ("2024-01-05T06:00:00+00:00", "2024-01-05", {"jan5-noon", "jan5-late"}),
    ],
)
async def test_dates_are_honored(
    dated: AgentState, start: Any, end: Any, expected: set[str]
) -> None:
    found = await search(dated, "status report", page_size=50, start_date=start, end_date=end)
    assert keys(found) == expected
    assert found.total == len(expected)


async def test_a_bare_end_date_includes_its_whole_day(dated: AgentState) -> None:
    found = await search(dated, "status report", page_size=50, end_date="2024-01-05")
    assert "jan5-late" in keys(found)
    assert "jan6-midnight" not in keys(found)


async def test_results_carry_their_dates(dated: AgentState) -> None:
    found = await search(dated, "jan8")
    (message,) = found.results
    assert message.date == STAMPS["jan8"]
