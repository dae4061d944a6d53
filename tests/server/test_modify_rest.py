"""Changing an agent over REST: model, window and tool rules by ``PATCH``, and a reset.

Each change is checked in what the agent's next turn sends the model, or in what the server
reports, and once through the real ``letta_client``.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from letta_client import InitToolRule, Letta
from starlette.testclient import TestClient

from agent.server import create_app
from agent.testing import FakeEmbedding, ScriptedModel, send


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def http(model: ScriptedModel) -> Iterator[TestClient]:
    with TestClient(create_app(":memory:", model=model, embedding=FakeEmbedding())) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def new_agent(http: TestClient, **extra: Any) -> str:
    body = {"memory_blocks": [{"label": "human", "value": "Name: Bob"}], **extra}
    agent_id: str = ok(http.post("/v1/agents/", json=body))["id"]
    return agent_id


def turn(http: TestClient, model: ScriptedModel, agent_id: str, text: str = "hi") -> Any:
    """Run one turn; the request the model got."""
    model.extend([send("ok")])
    ok(http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"content": text}]}))
    return model.requests[-1]


def test_modify_model_and_window(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    turn(http, model, agent_id)  # the server's client holds the agent loaded now
    changed = ok(http.patch(f"/v1/agents/{agent_id}", json={"model": "openai/gpt-4"}))
    assert changed["llm_config"]["handle"] == "openai/gpt-4"
    assert ok(http.get(f"/v1/agents/{agent_id}/context"))["context_window_size_max"] == 8_192
    ok(http.patch(f"/v1/agents/{agent_id}", json={"context_window_limit": 20_000}))
    assert ok(http.get(f"/v1/agents/{agent_id}/context"))["context_window_size_max"] == 20_000
    turn(http, model, agent_id)
    same = ok(http.patch(f"/v1/agents/{agent_id}", json={"model": "openai/gpt-4"}))
    assert same["llm_config"]["handle"] == "openai/gpt-4"  # the same model: nothing changes


def test_every_problem_at_once_and_unknown_models() -> None:
    with TestClient(create_app(":memory:")) as http:  # no stand-in model: names are checked
        agent_id = new_agent(http)
        response = http.patch(
            f"/v1/agents/{agent_id}",
            json={
                "model": "openai/",
                "context_window_limit": 10,
                "tool_rules": [{"type": "run_first", "tool_name": "no_such_tool"}],
            },
        )
        assert response.status_code == 422
        detail = response.json()["detail"]
        for expected in ("unknown model 'openai/'", "at least 256", "no_such_tool"):
            assert expected in detail
        bad = http.patch(f"/v1/agents/{agent_id}", json={"model": "mistral/large"})
        assert bad.status_code == 422 and "unknown model 'mistral/large'" in bad.json()["detail"]
        stored = ok(http.get(f"/v1/agents/{agent_id}"))["llm_config"]["handle"]
        assert stored == "openai/gpt-4o-mini"


def test_tool_rules_on_create_and_modify(http: TestClient, model: ScriptedModel) -> None:
    first = {"type": "run_first", "tool_name": "archival_memory_search"}
    agent_id = new_agent(http, tool_rules=[first])
    shown = ok(http.get(f"/v1/agents/{agent_id}"))["tool_rules"]
    assert first in shown and {"tool_name": "send_message", "type": "exit_loop"} in shown
    model.extend([send("ok")])
    http.post(f"/v1/agents/{agent_id}/messages", json={"messages": [{"content": "hi"}]})
    assert model.requests[0].tool_choice == "archival_memory_search"

    changed = ok(http.patch(f"/v1/agents/{agent_id}", json={"tool_rules": []}))
    assert changed["tool_rules"] == [{"tool_name": "send_message", "type": "exit_loop"}]
    assert turn(http, model, agent_id).tool_choice == "required"
    wrong = http.post("/v1/agents/", json={"tool_rules": [{"type": "parent_last_tool"}]})
    assert wrong.status_code == 422 and "tool_rules" in wrong.json()["detail"]


def test_reset_messages(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    turn(http, model, agent_id, "my cat is Miso")
    before = ok(http.get(f"/v1/agents/{agent_id}/messages"))
    agent = ok(http.patch(f"/v1/agents/{agent_id}/reset-messages"))
    assert agent["id"] == agent_id
    assert ok(http.get(f"/v1/agents/{agent_id}/context"))["num_messages"] == 0
    assert ok(http.get(f"/v1/agents/{agent_id}/messages")) == before  # still stored
    request = turn(http, model, agent_id, "hello")
    assert [m["content"] for m in request.messages if m["role"] == "user"] == ["hello"]
    refused = http.patch(
        f"/v1/agents/{agent_id}/reset-messages", params={"add_default_initial_messages": True}
    )
    assert refused.status_code == 501
    assert http.patch("/v1/agents/agent-nope/reset-messages").status_code == 404


# letta_client passes its timeout on every request, which Starlette's test client warns about
@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")
def test_through_letta_client(http: TestClient, model: ScriptedModel) -> None:
    client = Letta(base_url="http://testserver", httpx_client=http)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    rule = InitToolRule(tool_name="archival_memory_search")
    changed = client.agents.modify(agent_id=agent.id, model="openai/gpt-4o", tool_rules=[rule])
    assert changed.llm_config.handle == "openai/gpt-4o"
    assert any(getattr(r, "type", None) == "run_first" for r in changed.tool_rules or [])
    model.extend([send("ok")])
    client.agents.messages.create(agent_id=agent.id, messages=[{"role": "user", "content": "x"}])
    assert model.requests[-1].tool_choice == "archival_memory_search"
    reset = client.agents.messages.reset(agent_id=agent.id)
    assert reset.id == agent.id
