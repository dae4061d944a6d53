"""What messages.create accepts, and one clear error for everything else."""

from collections.abc import Callable
from typing import Any

import pytest

from agent import AsyncClient, ConfigError, UserMessage
from agent.testing import ScriptedModel, send

MakeAsyncClient = Callable[..., AsyncClient]


@pytest.fixture
async def setup(make_async_client: MakeAsyncClient) -> tuple[AsyncClient, str, ScriptedModel]:
    model = ScriptedModel([send("ok")] * 5)
    client = make_async_client(model=model)
    agent = await client.agents.create(context_window_limit=2000, include_base_tools=True)
    return client, agent.id, model


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "hi"}],
        [{"content": "hi"}],
        [UserMessage(content="hi")],
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        ({"role": "user", "content": "hi"},),
    ],
    ids=["dict", "no-role", "UserMessage", "text-parts", "tuple"],
)
async def test_accepted_forms_reach_the_model_as_text(
    setup: tuple[AsyncClient, str, ScriptedModel], messages: Any
) -> None:
    client, agent_id, model = setup
    response = await client.agents.messages.create(agent_id=agent_id, messages=messages)
    assert response.stop_reason == "end_turn"
    assert model.requests[-1].last_user_message == "hi"


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ("hello", r"messages must be a list of messages.*got str"),
        ({"role": "user", "content": "hi"}, r"messages must be a list of messages.*got dict"),
        (UserMessage(content="hi"), r"must be a list of messages.*got UserMessage"),
        (None, r"must be a list of messages.*got NoneType"),
        ([], r"no messages given"),
        ([{"role": "user", "content": None}], r"messages\[0\]\.content must be text, got NoneType"),
        ([{"role": "user", "content": 123}], r"messages\[0\]\.content must be text, got int"),
        ([{"role": "user", "content": {"a": 1}}], r"messages\[0\]\.content must be text, got dict"),
        ([{"role": "user"}], r"messages\[0\]: no 'content'"),
        ([{"role": "user", "content": "  "}], r"messages\[0\]\.content is empty"),
        ([{"role": "user", "contnet": "hi"}], r"unknown key 'contnet'; did you mean 'content'\?"),
        ([{"role": "assistant", "content": "hi"}], r"role 'assistant': only 'user'"),
        (["hi"], r"messages\[0\] must be a dict .* got str"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            r"messages\[0\]\.content\[0\]: image parts are not supported yet",
        ),
        (
            [{"role": "user", "content": [{"type": "text"}]}],
            r"messages\[0\]\.content\[0\] must be \{'type': 'text'",
        ),
    ],
)
async def test_bad_input_is_one_clear_error_and_nothing_is_sent(
    setup: tuple[AsyncClient, str, ScriptedModel], messages: Any, problem: str
) -> None:
    client, agent_id, model = setup
    with pytest.raises(ConfigError, match=problem):
        await client.agents.messages.create(agent_id=agent_id, messages=messages)
    assert model.requests == []
    assert await client.agents.messages.list(agent_id=agent_id) == []


async def test_every_problem_is_named_at_once(
    setup: tuple[AsyncClient, str, ScriptedModel],
) -> None:
    client, agent_id, _ = setup
    with pytest.raises(ConfigError) as raised:
        await client.agents.messages.create(
            agent_id=agent_id, messages=[{"content": None}, {"role": "system", "content": "x"}]
        )
    assert raised.value.problems == [
        "messages[0].content must be text, got NoneType None",
        "messages[1]: role 'system': only 'user' is accepted",
    ]


async def test_a_message_that_cannot_fit_in_the_window_is_refused(
    setup: tuple[AsyncClient, str, ScriptedModel],
) -> None:
    client, agent_id, model = setup
    huge = "word " * 5000  # a 2,000-token window cannot hold it, whatever is evicted
    with pytest.raises(ConfigError, match=r"2000-token context window has room for \d+"):
        await client.agents.messages.create(
            agent_id=agent_id, messages=[{"role": "user", "content": huge}]
        )
    assert model.requests == []


@pytest.mark.parametrize("limit", [-1, 1.5, "3", True])
async def test_a_bad_limit_is_refused(
    setup: tuple[AsyncClient, str, ScriptedModel], limit: Any
) -> None:
    client, agent_id, _ = setup
    with pytest.raises(ConfigError, match="limit must be a whole number of at least 0"):
        await client.agents.messages.list(agent_id=agent_id, limit=limit)
    with pytest.raises(ConfigError, match="limit must be a whole number of at least 0"):
        await client.agents.passages.list(agent_id=agent_id, limit=limit)


async def test_a_limit_past_64_bits_is_refused(
    setup: tuple[AsyncClient, str, ScriptedModel],
) -> None:
    client, agent_id, _ = setup  # no store could take it as a page size
    with pytest.raises(ConfigError, match="limit must be at most 9223372036854775807"):
        await client.agents.passages.list(agent_id=agent_id, limit=2**63)
    with pytest.raises(ConfigError, match="limit must be at most 9223372036854775807"):
        await client.agents.messages.list(agent_id=agent_id, limit=2**63)
    assert await client.agents.passages.list(agent_id=agent_id, limit=2**63 - 1) == []


async def test_a_typo_in_a_block_spec_is_refused_with_a_suggestion(
    make_async_client: MakeAsyncClient,
) -> None:
    client = make_async_client(model=ScriptedModel())
    with pytest.raises(ConfigError) as raised:
        await client.agents.create(
            memory_blocks=[{"label": "human", "valu": "Bob"}, {"label": "persona", "limt": 9}]
        )
    assert raised.value.problems == [
        "memory block 0: unknown key 'valu'; did you mean 'value'?",
        "memory block 1: unknown key 'limt'; did you mean 'limit'?",
    ]
    assert await client.agents.list() == []


@pytest.mark.parametrize("model", ["openai/", "openai/  ", "gpt-4o", ""])
async def test_a_model_name_without_a_model_is_refused(model: str) -> None:
    client = AsyncClient(":memory:")  # no client-wide model: the name must resolve
    try:
        with pytest.raises(ConfigError, match=r"unknown model .*use 'openai/<name>'"):
            await client.agents.create(model=model)
        with pytest.raises(ConfigError, match=r"unknown embedding model"):
            await client.agents.create(embedding="openai/")
        assert await client.agents.list() == []
    finally:
        client.close()
