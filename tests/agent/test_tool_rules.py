"""Tool rules: what each offers the model, how a broken rule is refused, and their configuration.

Every test runs on both backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

from collections.abc import Callable
from typing import Any

import pytest

from agent import (
    ChildToolRule,
    Client,
    ConditionalToolRule,
    ConfigError,
    InitToolRule,
    MaxCountPerStepToolRule,
    TerminalToolRule,
    ToolReturnMessage,
)
from agent.testing import ScriptedModel, call, send

MakeClient = Callable[..., Client]
ALL = [
    "send_message",
    "core_memory_append",
    "core_memory_replace",
    "archival_memory_insert",
    "archival_memory_search",
    "conversation_search",
]


pytestmark = pytest.mark.usefixtures("database")


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def returns(response: Any) -> list[ToolReturnMessage]:
    return [m for m in response.messages if isinstance(m, ToolReturnMessage)]


def agent_with(make_client: MakeClient, replies: list[Any], **create: Any) -> tuple[Any, Any]:
    model = ScriptedModel(replies)
    client = make_client(model=model)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Bob"}], **create)
    return client, agent


def model_of(client: Client) -> ScriptedModel:
    model = client.async_client.model
    assert isinstance(model, ScriptedModel)
    return model


def append(content: str = "likes tea") -> Any:
    return call("core_memory_append", label="human", content=content)


def test_without_rules_every_tool_is_offered_and_any_may_be_called(
    make_client: MakeClient,
) -> None:
    client, agent = agent_with(make_client, [append(), send("ok")])
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    requests = model_of(client).requests
    assert [r.tool_names for r in requests] == [ALL, ALL]
    assert [r.tool_choice for r in requests] == ["required", "required"]
    assert response.stop_reason == "end_turn"


def test_run_first_offers_only_that_tool_forced(make_client: MakeClient) -> None:
    client, agent = agent_with(
        make_client,
        [append(), send("ok")],
        tool_rules=[InitToolRule(tool_name="core_memory_append")],
    )
    client.agents.messages.create(agent_id=agent.id, messages=user())
    first, second = model_of(client).requests
    assert (first.tool_names, first.tool_choice) == (["core_memory_append"], "core_memory_append")
    assert (second.tool_names, second.tool_choice) == (ALL, "required")


def test_run_first_broken_is_a_tool_error_and_nothing_runs(make_client: MakeClient) -> None:
    client, agent = agent_with(
        make_client,
        [send("hello"), append(), send("ok")],
        tool_rules=[{"type": "run_first", "tool_name": "core_memory_append"}],
    )
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    refused = returns(response)[0]
    assert refused.status == "error"
    assert "must start with core_memory_append" in refused.tool_return
    assert "Call core_memory_append instead" in refused.tool_return
    assert [m.content for m in response.messages if m.message_type == "assistant_message"] == ["ok"]
    assert response.stop_reason == "end_turn"


def test_allowed_next_offers_only_the_children(make_client: MakeClient) -> None:
    rule = ChildToolRule(tool_name="core_memory_append", children=["send_message"])
    client, agent = agent_with(make_client, [append(), send("ok")], tool_rules=[rule])
    client.agents.messages.create(agent_id=agent.id, messages=user())
    first, second = model_of(client).requests
    assert first.tool_names == ALL
    assert (second.tool_names, second.tool_choice) == (["send_message"], "send_message")


def test_allowed_next_broken_is_refused(make_client: MakeClient) -> None:
    rule = ChildToolRule(tool_name="core_memory_append", children=["send_message"])
    insert = call("archival_memory_insert", content="secret")
    client, agent = agent_with(make_client, [append(), insert, send("ok")], tool_rules=[rule])
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    refused = returns(response)[1]
    assert refused.status == "error"
    assert "may not follow core_memory_append" in refused.tool_return
    assert client.agents.passages.list(agent_id=agent.id) == []


def test_a_failed_call_does_not_advance_the_rules(make_client: MakeClient) -> None:
    rule = ChildToolRule(tool_name="core_memory_append", children=["send_message"])
    bad = call("core_memory_append", label="nope", content="x")
    client, agent = agent_with(make_client, [bad, append(), send("ok")], tool_rules=[rule])
    client.agents.messages.create(agent_id=agent.id, messages=user())
    assert [r.tool_names for r in model_of(client).requests] == [ALL, ALL, ["send_message"]]


def check(answer: str) -> str:
    """Check an answer.

    Args:
        answer: What to give back.
    """
    return answer


@pytest.mark.parametrize(
    ("answer", "offered"),
    [
        ("yes", ["core_memory_append"]),
        ("no", ["send_message"]),
        ("maybe", ["archival_memory_search"]),
    ],
)
def test_next_by_result(make_client: MakeClient, answer: str, offered: list[str]) -> None:
    rule = ConditionalToolRule(
        tool_name="check",
        child_output_mapping={"yes": "core_memory_append", "no": "send_message"},
        default_child="archival_memory_search",
    )
    model = ScriptedModel([call("check", answer=answer), send("ok")])
    client = make_client(model=model)
    client.tools.upsert_from_function(func=check)
    agent = client.agents.create(tools=["check"], tool_rules=[rule])
    client.agents.messages.create(agent_id=agent.id, messages=user())
    assert model.requests[1].tool_names == offered


def flag(value: bool) -> bool:
    """Give back a flag.

    Args:
        value: The flag.
    """
    return value


def test_next_by_result_matches_json_keys_and_requires_a_match(make_client: MakeClient) -> None:
    rule = {
        "type": "conditional",
        "tool_name": "flag",
        "child_output_mapping": {True: "core_memory_append"},
        "require_output_mapping": True,
    }
    replies = [call("flag", value=True), append(), call("flag", value=False), send("ok")]
    model = ScriptedModel(replies)
    client = make_client(model=model)
    client.tools.upsert_from_function(func=flag)
    human = [{"label": "human", "value": "Bob"}]
    agent = client.agents.create(memory_blocks=human, tools=["flag"], tool_rules=[rule])
    assert agent.tool_rules[0] == ConditionalToolRule(
        tool_name="flag",
        child_output_mapping={"true": "core_memory_append"},
        require_output_mapping=True,
    )
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    # true -> the mapped tool; false matches nothing, and a match is required: only a reply
    assert model.requests[1].tool_names == ["core_memory_append"]
    assert model.requests[3].tool_names == ["send_message"]
    with pytest.raises(ConfigError, match="child_output_mapping is empty"):
        client.agents.modify(agent.id, tool_rules=[{**rule, "child_output_mapping": {}}])


def test_max_calls_per_turn(make_client: MakeClient) -> None:
    rule = MaxCountPerStepToolRule(tool_name="archival_memory_insert", max_count_limit=1)
    insert = call("archival_memory_insert", content="one")
    again = call("archival_memory_insert", content="two")
    client, agent = agent_with(make_client, [insert, again, send("ok")], tool_rules=[rule])
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    requests = model_of(client).requests
    assert "archival_memory_insert" in requests[0].tool_names
    assert "archival_memory_insert" not in requests[1].tool_names
    refused = returns(response)[1]
    assert "already called 1 time(s) this turn" in refused.tool_return
    assert [p.text for p in client.agents.passages.list(agent_id=agent.id)] == ["one"]
    # the count starts again with the next turn
    model_of(client).extend([send("again")])
    client.agents.messages.create(agent_id=agent.id, messages=user())
    assert "archival_memory_insert" in model_of(client).requests[-1].tool_names


def test_terminal_tool_ends_the_turn(make_client: MakeClient) -> None:
    rule = TerminalToolRule(tool_name="core_memory_append")
    bad = call("core_memory_append", label="nope", content="x")
    client, agent = agent_with(make_client, [bad, append()], tool_rules=[rule])
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert [r.status for r in returns(response)] == ["error", "success"]  # a failure goes on
    assert len(model_of(client).requests) == 2
    block = client.agents.blocks.retrieve(agent.id, block_label="human")
    assert block.value == "Bob\nlikes tea"


def test_every_problem_in_one_config_error(make_client: MakeClient) -> None:
    client = make_client(model=ScriptedModel())
    with pytest.raises(ConfigError) as raised:
        client.agents.create(
            tool_rules=[
                InitToolRule(tool_name="nope"),
                {"type": "max_count_per_step", "tool_name": "send_message", "max_count_limit": 0},
                {"type": "constrain_child_tools", "tool_name": "send_message", "children": []},
                {"type": "whatever", "tool_name": "send_message"},
                {"type": "exit_loop", "tool_name": "send_message", "extra": 1},
            ],
            requires_approval=["send_message", "ghost"],
        )
    text = str(raised.value)
    for expected in [
        "tool_rules[0] (run_first): unknown tool 'nope'",
        "max_count_limit must be at least 1, got 0",
        "children is empty",
        "tool_rules[3]",
        "tool_rules[4]: exit_loop.extra",
        "send_message cannot require approval",
        "unknown tool 'ghost'",
    ]:
        assert expected in text
    assert client.agents.list() == []


def test_modify_sets_rules_that_the_next_turn_follows(
    make_client: MakeClient, database: str
) -> None:
    client, agent = agent_with(make_client, [send("a"), append(), send("b")])
    client.agents.messages.create(agent_id=agent.id, messages=user())  # loaded and running
    changed = client.agents.modify(
        agent.id, tool_rules=[{"type": "run_first", "tool_name": "core_memory_append"}]
    )
    assert changed.tool_rules == [InitToolRule(tool_name="core_memory_append")]
    client.agents.messages.create(agent_id=agent.id, messages=user())
    assert model_of(client).requests[1].tool_names == ["core_memory_append"]
    other = make_client(database, model=ScriptedModel())
    assert other.agents.retrieve(agent.id).tool_rules == changed.tool_rules
    assert client.agents.modify(agent.id, tool_rules=[]).tool_rules == []


def test_modify_checks_rules_against_the_tools_the_agent_will_have(
    make_client: MakeClient,
) -> None:
    rule = InitToolRule(tool_name="core_memory_append")
    client, agent = agent_with(make_client, [], tool_rules=[rule])
    with pytest.raises(ConfigError, match="unknown tool 'core_memory_append'"):
        client.agents.modify(agent.id, tools=["send_message"])
    with pytest.raises(ConfigError, match=r"tool_rules\[0\]: run_first.tool_name: Field required"):
        client.agents.modify(agent.id, tool_rules=[{"type": "run_first"}])
    assert client.agents.retrieve(agent.id).tool_rules == [rule]
    kept = client.agents.modify(agent.id, tools=["send_message", "core_memory_append"])
    assert kept.tool_rules == [rule]
