"""Human approval: a call waits for a person; approved it runs, denied the model is told why.

Every test runs on both backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

from collections.abc import Callable
from typing import Any

import pytest

from agent import (
    ApprovalCreate,
    ApprovalRequestMessage,
    Client,
    ConfigError,
    RequiresApprovalToolRule,
    ToolReturnMessage,
)
from agent.testing import ScriptedModel, call, calls, send

MakeClient = Callable[..., Client]
APPEND = {"label": "human", "content": "likes tea"}

pytestmark = pytest.mark.usefixtures("database")


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def approve(ok: bool = True, **more: Any) -> list[dict[str, Any]]:
    return [{"type": "approval", "approve": ok, **more}]


def human(client: Client, agent_id: str) -> str:
    return client.agents.blocks.retrieve(agent_id, block_label="human").value


def waiting_agent(make_client: MakeClient, *replies: Any) -> tuple[Client, Any, ScriptedModel]:
    """An agent whose first turn stopped at a core_memory_append waiting for approval."""
    model = ScriptedModel([call("core_memory_append", APPEND), *replies])
    client = make_client(model=model)
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Bob"}],
        requires_approval=["core_memory_append"],
    )
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "requires_approval"
    return client, agent, model


def test_the_turn_stops_before_the_call_runs(make_client: MakeClient) -> None:
    client, agent, model = waiting_agent(make_client)
    assert human(client, agent.id) == "Bob"
    stored = client.agents.messages.list(agent_id=agent.id)
    request = stored[-1]
    assert isinstance(request, ApprovalRequestMessage)
    assert request.tool_call.name == "core_memory_append"
    assert len(model.requests) == 1
    assert client.agents.retrieve(agent.id).requires_approval == ["core_memory_append"]


def test_approved_the_tool_runs_and_the_turn_goes_on(make_client: MakeClient) -> None:
    client, agent, model = waiting_agent(make_client, send("Noted."))
    response = client.agents.messages.create(agent_id=agent.id, messages=approve())
    result = response.messages[0]
    assert isinstance(result, ToolReturnMessage) and result.status == "success"
    assert response.messages[-1].message_type == "assistant_message"
    assert response.stop_reason == "end_turn"
    assert human(client, agent.id) == "Bob\nlikes tea"
    # the model's next request answers the call once, with its real result
    sent = model.requests[1].messages
    assert [m["role"] for m in sent[-3:]] == ["user", "assistant", "tool"]
    assert sent[-1]["content"] == result.tool_return
    listed = client.agents.messages.list(agent_id=agent.id)
    assert not any(isinstance(m, ApprovalRequestMessage) for m in listed)


def test_denied_the_model_reads_the_reason(make_client: MakeClient) -> None:
    client, agent, model = waiting_agent(make_client, send("Fine."))
    response = client.agents.messages.create(
        agent_id=agent.id, messages=approve(False, reason="not now")
    )
    result = response.messages[0]
    assert isinstance(result, ToolReturnMessage) and result.status == "error"
    assert "denied" in result.tool_return and "not now" in result.tool_return
    assert model.requests[1].messages[-1]["content"] == result.tool_return
    assert response.stop_reason == "end_turn"
    assert human(client, agent.id) == "Bob"


def test_a_waiting_call_survives_a_restart(make_client: MakeClient, database: str) -> None:
    first, agent, _ = waiting_agent(make_client)
    first.close()
    model = ScriptedModel([send("Done.")])
    second = make_client(database, model=model)
    listed = second.agents.messages.list(agent_id=agent.id)
    assert isinstance(listed[-1], ApprovalRequestMessage)
    request_id = listed[-1].id
    response = second.agents.messages.create(
        agent_id=agent.id, messages=[ApprovalCreate(approve=True, approval_request_id=request_id)]
    )
    assert response.stop_reason == "end_turn"
    assert human(second, agent.id) == "Bob\nlikes tea"


def test_a_user_message_while_waiting_is_refused(make_client: MakeClient) -> None:
    client, agent, model = waiting_agent(make_client, send("Done."))
    before = client.agents.messages.list(agent_id=agent.id)
    with pytest.raises(ConfigError, match="waiting for approval of a call to 'core_memory_append'"):
        client.agents.messages.create(agent_id=agent.id, messages=user("hello?"))
    assert client.agents.messages.list(agent_id=agent.id) == before
    assert len(model.requests) == 1
    assert client.agents.messages.create(agent_id=agent.id, messages=approve()).stop_reason == (
        "end_turn"
    )


def test_approval_mistakes_are_config_errors(make_client: MakeClient) -> None:
    model = ScriptedModel([send("hi")])
    client = make_client(model=model)
    agent = client.agents.create(requires_approval=["core_memory_append"])
    with pytest.raises(ConfigError, match="has no call waiting for approval"):
        client.agents.messages.create(agent_id=agent.id, messages=approve())
    with pytest.raises(ConfigError, match="must be the only message"):
        client.agents.messages.create(agent_id=agent.id, messages=[*approve(), *user()])
    with pytest.raises(ConfigError, match=r"messages\[0\].approve: Field required"):
        client.agents.messages.create(agent_id=agent.id, messages=[{"type": "approval"}])


def test_an_approval_naming_another_call_is_refused(make_client: MakeClient) -> None:
    client, agent, _ = waiting_agent(make_client, send("ok"))
    with pytest.raises(ConfigError, match="does not name the call waiting for approval"):
        client.agents.messages.create(
            agent_id=agent.id, messages=approve(approval_request_id="call_other")
        )
    waiting = client.agents.messages.list(agent_id=agent.id)[-1]
    assert isinstance(waiting, ApprovalRequestMessage)
    response = client.agents.messages.create(
        agent_id=agent.id, messages=approve(approval_request_id=waiting.tool_call.tool_call_id)
    )
    assert response.stop_reason == "end_turn"


def test_calls_beside_a_waiting_call(make_client: MakeClient) -> None:
    reply = calls(
        ("archival_memory_insert", {"content": "before"}),
        ("core_memory_append", APPEND),
        ("archival_memory_insert", {"content": "after"}),
    )
    model = ScriptedModel([reply, send("ok")])
    client = make_client(model=model)
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Bob"}],
        tool_rules=[RequiresApprovalToolRule(tool_name="core_memory_append")],
    )
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    kinds = [m.message_type for m in response.messages]
    assert kinds == [
        "tool_call_message",
        "tool_return_message",
        "approval_request_message",
        "tool_call_message",
        "tool_return_message",
    ]
    held = response.messages[-1]
    assert isinstance(held, ToolReturnMessage) and "waiting for a person's approval" in (
        held.tool_return
    )
    assert [p.text for p in client.agents.passages.list(agent_id=agent.id)] == ["before"]
    client.agents.messages.create(agent_id=agent.id, messages=approve())
    assert human(client, agent.id) == "Bob\nlikes tea"


def test_modify_changes_which_tools_need_approval(make_client: MakeClient) -> None:
    model = ScriptedModel([call("core_memory_append", APPEND), send("ok")])
    client = make_client(model=model)
    agent = client.agents.create(
        memory_blocks=[{"label": "human", "value": "Bob"}],
        requires_approval=["core_memory_append"],
        tool_rules=[{"type": "run_first", "tool_name": "core_memory_append"}],
    )
    changed = client.agents.modify(agent.id, requires_approval=[])
    assert changed.requires_approval == []
    assert [r.type for r in changed.tool_rules] == ["run_first"]  # the other rules stay
    response = client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert human(client, agent.id) == "Bob\nlikes tea"
