"""Token streaming over REST: the reply's chunks as server-sent events, sharing an id."""

import json

from starlette.testclient import TestClient

from agent.server import create_app
from agent.testing import ChunkedModel, FakeEmbedding, send


def test_stream_tokens_sends_the_reply_in_chunks_that_join_to_the_stored_reply() -> None:
    model = ChunkedModel([send("Hello there, Bob!", reasoning="Greet him.")], chunk_size=4)
    with TestClient(create_app(":memory:", model=model, embedding=FakeEmbedding())) as http:
        agent = http.post("/v1/agents/", json={"memory_blocks": []}).json()
        body = {"messages": [{"role": "user", "content": "hi"}], "stream_tokens": True}
        response = http.post(f"/v1/agents/{agent['id']}/messages/stream", json=body)
        assert response.status_code == 200, response.text
        lines = [x[6:] for x in response.text.split("\n\n") if x.startswith("data: ")]
        assert lines[-1] == "[DONE]"
        events = [json.loads(x) for x in lines[:-1]]
        said = [e for e in events if e.get("message_type") == "assistant_message"]
        assert len(said) > 1 and len({e["id"] for e in said}) == 1
        assert "".join(e["content"] for e in said) == "Hello there, Bob!"
        assert events[-1]["message_type"] == "usage_statistics"
        stored = http.get(f"/v1/agents/{agent['id']}/messages").json()
        reply = [m for m in stored if m["message_type"] == "assistant_message"]
        assert reply[-1]["content"] == "Hello there, Bob!" and reply[-1]["id"] == said[0]["id"]
