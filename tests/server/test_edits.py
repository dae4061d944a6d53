"""Editing agents over REST: modify, tools and blocks attached, detached, created, deleted.

Each edit is checked where it matters: in what the agent's next turn sends the model (the
server's client holds the agent loaded, and must reload it because the edit bumped the
agent's version), and once through the real ``letta_client``.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from letta_client import Letta
from starlette.testclient import TestClient

from agent.server import create_app
from agent.testing import FakeEmbedding, ScriptedModel, send

ECHO = '''def echo_text(text: str):
    """Repeat a text.

    Args:
        text: what to repeat.
    """
    return text
'''


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def http(model: ScriptedModel) -> Iterator[TestClient]:
    with TestClient(create_app(":memory:", model=model, embedding=FakeEmbedding())) as client:
        yield client


def new_agent(http: TestClient) -> str:
    body = {"memory_blocks": [{"label": "human", "value": "Name: Bob"}], "name": "first"}
    agent_id: str = http.post("/v1/agents/", json=body).json()["id"]
    return agent_id


def turn(http: TestClient, model: ScriptedModel, agent_id: str) -> Any:
    """Run one turn; the request the model got."""
    model.extend([send("ok")])
    body = {"messages": [{"role": "user", "content": "hi"}]}
    assert http.post(f"/v1/agents/{agent_id}/messages", json=body).status_code == 200
    return model.requests[-1]


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def test_modify_name_system_and_tools(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    assert "archival_memory_search" in turn(http, model, agent_id).tool_names  # loaded now
    changed = ok(
        http.patch(
            f"/v1/agents/{agent_id}",
            json={
                "name": "second",
                "system": "You are terse.",
                "tool_ids": ["tool-base-send_message", "tool-base-core_memory_append"],
            },
        )
    )
    assert changed["name"] == "second" and changed["system"] == "You are terse."
    assert [t["name"] for t in changed["tools"]] == ["send_message", "core_memory_append"]
    request = turn(http, model, agent_id)  # the loaded agent was reloaded
    assert request.tool_names == ["send_message", "core_memory_append"]
    assert request.messages[0]["content"].startswith("You are terse.")
    assert ok(http.get(f"/v1/agents/{agent_id}"))["name"] == "second"


def test_modify_refusals(http: TestClient) -> None:
    agent_id = new_agent(http)
    response = http.patch(f"/v1/agents/{agent_id}", json={"tags": ["x"], "model": "openai/o3"})
    assert response.status_code == 501
    assert response.json()["detail"] == "changing tags is not supported by selfedit"
    same_model = http.patch(f"/v1/agents/{agent_id}", json={"model": "openai/gpt-4o-mini"})
    assert same_model.status_code == 200  # what letta_client sends back unchanged is fine
    response = http.patch(f"/v1/agents/{agent_id}", json={"tool_ids": ["tool-nope"]})
    assert response.status_code == 422 and "tool-nope" in response.json()["detail"]
    assert http.patch("/v1/agents/agent-nope", json={"name": "x"}).status_code == 404


def test_tools_attach_detach_delete(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    tool = ok(http.put("/v1/tools/", json={"source_code": ECHO}))
    assert "echo_text" not in turn(http, model, agent_id).tool_names
    agent = ok(http.patch(f"/v1/agents/{agent_id}/tools/attach/{tool['id']}"))
    assert [t["id"] for t in agent["tools"]][-1] == tool["id"]
    again = ok(http.patch(f"/v1/agents/{agent_id}/tools/attach/{tool['id']}"))
    assert again["tools"] == agent["tools"]  # attaching twice changes nothing
    assert "echo_text" in turn(http, model, agent_id).tool_names

    search = "tool-base-archival_memory_search"
    detached = ok(http.patch(f"/v1/agents/{agent_id}/tools/detach/{search}"))
    assert "archival_memory_search" not in [t["name"] for t in detached["tools"]]
    assert "archival_memory_search" not in turn(http, model, agent_id).tool_names
    ok(http.patch(f"/v1/agents/{agent_id}/tools/attach/{search}"))

    assert http.delete("/v1/tools/tool-base-send_message").status_code == 422
    assert http.delete(f"/v1/tools/{tool['id']}").status_code == 200
    assert http.get(f"/v1/tools/{tool['id']}").status_code == 404
    names = [t["name"] for t in ok(http.get(f"/v1/agents/{agent_id}/tools"))]
    assert "echo_text" not in names and "archival_memory_search" in names
    assert "echo_text" not in turn(http, model, agent_id).tool_names
    assert http.delete(f"/v1/tools/{tool['id']}").status_code == 404
    assert http.patch(f"/v1/agents/{agent_id}/tools/attach/tool-nope").status_code == 404


def test_blocks_create_list_attach_detach_delete(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    turn(http, model, agent_id)
    block = ok(http.post("/v1/blocks/", json={"label": "project", "value": "Ship v2"}))
    assert block["id"].startswith("block-") and block["limit"] == 5000
    assert [b["id"] for b in ok(http.get("/v1/blocks/", params={"label": "project"}))] == [
        block["id"]
    ]
    assert len(ok(http.get("/v1/blocks/"))) == 2  # the agent's human block too
    assert ok(http.get("/v1/blocks/", params={"templates_only": True})) == []

    agent = ok(http.patch(f"/v1/agents/{agent_id}/core-memory/blocks/attach/{block['id']}"))
    assert [b["label"] for b in agent["memory"]["blocks"]] == ["human", "project"]
    assert "Ship v2" in turn(http, model, agent_id).messages[0]["content"]
    clash = ok(http.post("/v1/blocks/", json={"label": "project", "value": "other"}))
    response = http.patch(f"/v1/agents/{agent_id}/core-memory/blocks/attach/{clash['id']}")
    assert response.status_code == 422 and "already has a block" in response.json()["detail"]

    detached = ok(http.patch(f"/v1/agents/{agent_id}/core-memory/blocks/detach/{block['id']}"))
    assert [b["label"] for b in detached["memory"]["blocks"]] == ["human"]
    assert "Ship v2" not in turn(http, model, agent_id).messages[0]["content"]
    assert ok(http.get(f"/v1/blocks/{block['id']}"))["value"] == "Ship v2"  # kept

    ok(http.patch(f"/v1/agents/{agent_id}/core-memory/blocks/attach/{clash['id']}"))
    assert ok(http.delete(f"/v1/blocks/{clash['id']}"))["value"] == "other"
    assert http.get(f"/v1/blocks/{clash['id']}").json() == {"detail": "Block not found"}
    blocks = ok(http.get(f"/v1/agents/{agent_id}/core-memory/blocks"))
    assert [b["label"] for b in blocks] == ["human"]  # detached by the delete
    assert "other" not in turn(http, model, agent_id).messages[0]["content"]
    assert http.delete(f"/v1/blocks/{clash['id']}").status_code == 404


def test_block_problems_are_422(http: TestClient) -> None:
    response = http.post("/v1/blocks/", json={"label": "Bad Label", "value": "x"})
    assert response.status_code == 422 and "label" in response.json()["detail"]
    response = http.post("/v1/blocks/", json={"label": "small", "value": "xx", "limit": 1})
    assert response.status_code == 422
    agent_id = new_agent(http)
    response = http.patch(f"/v1/agents/{agent_id}/core-memory/blocks/attach/block-nope")
    assert response.status_code == 404


def test_modify_block_ids_replaces_the_blocks(http: TestClient, model: ScriptedModel) -> None:
    agent_id = new_agent(http)
    turn(http, model, agent_id)
    block = ok(http.post("/v1/blocks/", json={"label": "notes", "value": "Only notes"}))
    agent = ok(http.patch(f"/v1/agents/{agent_id}", json={"block_ids": [block["id"]]}))
    assert [b["label"] for b in agent["memory"]["blocks"]] == ["notes"]
    prompt = turn(http, model, agent_id).messages[0]["content"]
    assert "Only notes" in prompt and "Name: Bob" not in prompt


# letta_client passes its timeout on every request, which Starlette's test client warns about
@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")
def test_through_letta_client(http: TestClient, model: ScriptedModel) -> None:
    client = Letta(base_url="http://testserver", httpx_client=http)
    agent = client.agents.create(memory_blocks=[{"label": "human", "value": "Name: Bob"}])
    block = client.blocks.create(label="project", value="Ship v2")
    assert [b.id for b in client.blocks.list(label="project")] == [block.id]
    attached = client.agents.blocks.attach(agent_id=agent.id, block_id=block.id)
    assert [b.label for b in attached.memory.blocks] == ["human", "project"]
    tool = client.tools.upsert(source_code=ECHO)
    with_tool = client.agents.tools.attach(agent_id=agent.id, tool_id=tool.id)
    assert tool.id in [t.id for t in with_tool.tools]
    renamed = client.agents.modify(agent_id=agent.id, name="renamed")
    assert renamed.name == "renamed" and tool.id in [t.id for t in renamed.tools]
    without = client.agents.tools.detach(agent_id=agent.id, tool_id=tool.id)
    assert tool.id not in [t.id for t in without.tools]
    detached = client.agents.blocks.detach(agent_id=agent.id, block_id=block.id)
    assert [b.label for b in detached.memory.blocks] == ["human"]
    assert client.blocks.delete(block_id=block.id).id == block.id
    client.tools.delete(tool_id=tool.id)
    assert tool.id not in [t.id for t in client.tools.list()]
