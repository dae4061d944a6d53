"""The app in-process (Starlette's test client): shapes, errors, auth, limits, tools by source."""

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from agent import AsyncClient
from agent.server import create_app
from agent.testing import FakeEmbedding, ScriptedModel, call, send

GET_ID = '''def get_agent_id(agent_state: "AgentState"):
    """
    Query your agent ID field
    """
    return agent_state.id
'''

SEND = GET_ID


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def http(model: ScriptedModel) -> Iterator[TestClient]:
    with TestClient(create_app(":memory:", model=model, embedding=FakeEmbedding())) as client:
        yield client


def new_agent(http: TestClient, **extra: object) -> dict[str, object]:
    body = {"memory_blocks": [{"label": "human", "value": "Name: Bob"}], **extra}
    response = http.post("/v1/agents/", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, object] = response.json()
    return created


def test_agent_shape_and_letta_defaults(http: TestClient) -> None:
    agent = new_agent(http, model="openai/gpt-4o-mini")
    assert str(agent["id"]).startswith("agent-")
    assert agent["name"]  # invented
    for key in ["system", "agent_type", "llm_config", "embedding_config", "memory", "tools"]:
        assert key in agent
    block = agent["memory"]["blocks"][0]  # type: ignore[index]
    assert block["limit"] == 5000 and block["id"].startswith("block-")
    assert [a["id"] for a in http.get("/v1/agents/").json()] == [agent["id"]]
    assert http.get(f"/v1/agents/{agent['id']}").json()["id"] == agent["id"]


def test_unknown_ids_are_404_with_detail(http: TestClient) -> None:
    assert http.get("/v1/blocks/add_block_id_above").json() == {"detail": "Block not found"}
    for path in ["/v1/agents/agent-x", "/v1/agents/agent-x/core-memory/blocks", "/v1/tools/x"]:
        response = http.get(path)
        assert response.status_code == 404 and "detail" in response.json()
    agent = new_agent(http)
    response = http.get(f"/v1/agents/{agent['id']}/core-memory/blocks/nope")
    assert response.status_code == 404 and "human" in response.json()["detail"]


def test_paths_are_exact_and_others_are_501(http: TestClient) -> None:
    response = http.get("/v1/agents")
    assert response.status_code == 501 and "/v1/agents/" in response.json()["detail"]
    response = http.post("/v1/sources/", json={})
    assert response.status_code == 501 and "not supported" in response.json()["detail"]


def test_turn_and_messages(http: TestClient, model: ScriptedModel) -> None:
    agent = new_agent(http)
    model.extend([call("core_memory_append", label="human", content="Likes cats"), send("Hi!")])
    response = http.post(
        f"/v1/agents/{agent['id']}/messages",
        json={"messages": [{"role": "user", "content": "hello"}]},
    )
    body = response.json()
    kinds = [m["message_type"] for m in body["messages"]]
    assert kinds == ["tool_call_message", "tool_return_message", "assistant_message"]
    assert body["messages"][1]["name"] == "core_memory_append"
    assert body["messages"][1]["stdout"] is None
    assert body["usage"]["step_count"] == 2
    listed = http.get(f"/v1/agents/{agent['id']}/messages").json()
    assert listed[0]["message_type"] == "user_message"
    first = listed[0]["id"]
    after = http.get(f"/v1/agents/{agent['id']}/messages", params={"after": first}).json()
    assert first not in [m["id"] for m in after] and len(after) == len(listed) - 1
    assert http.get(f"/v1/agents/{agent['id']}/messages", params={"limit": 1}).json() == listed[-1:]


def test_stream_framing(http: TestClient, model: ScriptedModel) -> None:
    agent = new_agent(http)
    model.extend([send("Hi!")])
    with http.stream(
        "POST",
        f"/v1/agents/{agent['id']}/messages/stream",
        json={"messages": [{"role": "user", "content": "hello"}]},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    events = [e for e in text.split("\n\n") if e]
    assert all(e.startswith("data: ") and "\n" not in e for e in events)
    assert events[-1] == "data: [DONE]"
    assert '"message_type":"usage_statistics"' in events[-2]
    assert '"message_type":"assistant_message"' in events[0]


def test_a_stream_refused_before_its_first_event_is_a_422_not_a_broken_stream(
    http: TestClient,
) -> None:
    # found by schemathesis (POST .../messages/stream {"messages": [{"content": ""}]}): the
    # stream's headers went out before the turn refused the message, then the app crashed
    agent = new_agent(http)
    image = [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    for content in ["", "   ", image]:
        body = {"messages": [{"content": content}]}
        for path in ["messages/stream", "messages"]:
            response = http.post(f"/v1/agents/{agent['id']}/{path}", json=body)
            assert response.status_code == 422, (path, response.text)
            assert "messages[0].content" in response.json()["detail"]
    assert http.get(f"/v1/agents/{agent['id']}/messages").json() == []


def test_whole_numbers_past_64_bits_are_a_422_not_a_500(http: TestClient) -> None:
    # found by schemathesis (POST /v1/blocks/ {"label": ..., "value": ..., "limit": 2**63}):
    # SQLite could not store the limit, OverflowError, a 500; PostgreSQL's BIGINT the same
    big = 2**63
    agent = new_agent(http)
    block = http.post("/v1/blocks/", json={"label": "notes", "value": "x"}).json()
    passages = f"/v1/agents/{agent['id']}/archival-memory"
    http.post(passages, json={"text": "Tea."})
    for method, path, body in [
        ("POST", "/v1/blocks/", {"label": "notes", "value": "x", "limit": big}),
        (
            "POST",
            "/v1/agents/",
            {"memory_blocks": [{"label": "human", "value": "x", "limit": big}]},
        ),
        ("PATCH", f"/v1/blocks/{block['id']}", {"limit": big}),
        ("PATCH", f"/v1/agents/{agent['id']}/core-memory/blocks/human", {"limit": big}),
        ("GET", f"{passages}?limit={big}", None),
        ("GET", f"{passages}?limit={big}&search=tea", None),
    ]:
        response = http.request(method, path, json=body)
        assert response.status_code == 422, (method, path, response.text)
        assert "9223372036854775807" in str(response.json()["detail"])
    assert http.get(f"/v1/blocks/{block['id']}").json()["limit"] == 5000
    assert len(http.get(f"{passages}?limit={big - 1}").json()) == 1  # the largest is fine


def test_block_modify_and_limit(http: TestClient) -> None:
    agent = new_agent(http)
    path = f"/v1/agents/{agent['id']}/core-memory/blocks/human"
    assert http.patch(path, json={"value": "Name: Sarah"}).json()["value"] == "Name: Sarah"
    response = http.patch(path, json={"value": "x" * 6000})
    assert response.status_code == 422 and "limit" in response.json()["detail"]
    block_id = http.get(path).json()["id"]
    assert http.get(f"/v1/blocks/{block_id}").json()["value"] == "Name: Sarah"


def test_tool_from_source_upserts_by_name(http: TestClient) -> None:
    first = http.put("/v1/tools/", json={"source_code": GET_ID, "args_json_schema": None}).json()
    assert first["name"] == "get_agent_id"
    assert first["description"] == "Query your agent ID field"
    assert first["json_schema"]["parameters"]["properties"] == {}
    again = http.put("/v1/tools/", json={"source_code": GET_ID.replace("ID field", "id")}).json()
    assert again["id"] == first["id"] and again["description"] == "Query your agent id"
    assert http.get(f"/v1/tools/{first['id']}").json()["name"] == "get_agent_id"
    assert "get_agent_id" in [t["name"] for t in http.get("/v1/tools/").json()]


def test_tool_source_problems_are_422_listing_each(http: TestClient) -> None:
    bad = "import os\n\ndef bad(x, *args):\n    return helper(x)\n"
    response = http.put("/v1/tools/", json={"source_code": bad})
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert len(problems) >= 2, problems
    response = http.put("/v1/tools/", json={"source_code": "def broken(:\n"})
    assert response.status_code == 422


def test_tool_source_does_not_run_in_the_server(http: TestClient, tmp_path: object) -> None:
    marker = "import sys\nsys.modules['agent'].RAN_IN_SERVER = True\n\n" + GET_ID
    http.put("/v1/tools/", json={"source_code": marker})
    import agent

    assert not hasattr(agent, "RAN_IN_SERVER")


def test_builtin_name_is_refused(http: TestClient) -> None:
    source = SEND.replace("def get_agent_id", "def send_message")
    response = http.put("/v1/tools/", json={"source_code": source})
    assert response.status_code == 422 and "built-in" in response.json()["detail"]


def test_invalid_bodies_are_422(http: TestClient) -> None:
    assert http.post("/v1/agents/", json={"memory_blocks": "x"}).status_code == 422
    assert http.post("/v1/agents/", content=b"{not json").status_code == 422
    response = http.post(
        "/v1/agents/", json={"memory_blocks": [{"label": "Bad Label", "value": ""}]}
    )
    assert response.status_code == 422


def test_token_required_when_set() -> None:
    app = create_app(AsyncClient(":memory:", model=ScriptedModel()), token="s3cret")
    with TestClient(app) as http:
        assert http.get("/v1/agents/").status_code == 401
        wrong = http.get("/v1/agents/", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "detail" in wrong.json()
        right = http.get("/v1/agents/", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200


def test_body_limit_is_413() -> None:
    with TestClient(create_app(":memory:", model=ScriptedModel(), max_body=1000)) as http:
        response = http.post("/v1/agents/", json={"name": "x" * 2000})
        assert response.status_code == 413 and "1000 bytes" in response.json()["detail"]


def test_passages_and_context(http: TestClient) -> None:
    agent = new_agent(http, embedding="openai/text-embedding-3-small")
    path = f"/v1/agents/{agent['id']}/archival-memory"
    assert http.get(path).json() == []
    created = http.post(path, json={"text": "Bob loves boston terriers"}).json()
    assert isinstance(created, list) and created[0]["text"] == "Bob loves boston terriers"
    assert [p["text"] for p in http.get(path).json()] == ["Bob loves boston terriers"]
    assert http.delete(f"{path}/{created[0]['id']}").status_code == 200
    assert http.get(path).json() == []
    context = http.get(f"/v1/agents/{agent['id']}/context").json()
    assert context["context_window_size_max"] > 0
    assert http.delete(f"/v1/agents/{agent['id']}").status_code == 200
    assert http.get(f"/v1/agents/{agent['id']}").status_code == 404
