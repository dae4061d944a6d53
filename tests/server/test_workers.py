"""Two worker processes on one database, one agent, concurrent turns over HTTP.

On both backends: a SQLite file, and a real PostgreSQL that each worker connects to on its own.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _serving import Serve, letta

HERE = str(Path(__file__).parent)


def test_two_workers_one_agent_nothing_lost_or_interleaved(serve: Serve, database: str) -> None:
    base_url = serve("--workers", "2", "--db", database, stand_in="_counting:model", path=(HERE,))
    with letta(base_url) as client:
        agent = client.agents.create(
            memory_blocks=[{"label": "log", "value": "", "limit": 100000}], model="openai/x"
        )

    def turn(n: int) -> list[str]:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            body = {"messages": [{"role": "user", "content": f"t{n}"}]}
            reply = http.post(f"/v1/agents/{agent.id}/messages", json=body).json()
            return [m["message_type"] for m in reply["messages"]]

    with ThreadPoolExecutor(8) as pool:
        kinds = list(pool.map(turn, range(16)))
    assert all(
        k == ["tool_call_message", "tool_return_message", "assistant_message"] for k in kinds
    )
    with letta(base_url) as client:
        log = client.agents.blocks.retrieve(agent.id, block_label="log").value
        history = client.agents.messages.list(agent_id=agent.id, limit=1000)
    assert sorted(log.split()) == sorted(f"t{n}" for n in range(16))  # nothing lost
    users = [i for i, m in enumerate(history) if m.message_type == "user_message"]
    for start, end in zip(users, [*users[1:], len(history)], strict=True):
        turn_messages = history[start:end]  # each turn whole, in order, never mixed with another
        said = turn_messages[0].content
        assert [m.message_type for m in turn_messages] == [
            "user_message",
            "tool_call_message",
            "tool_return_message",
            "assistant_message",
        ]
        assert turn_messages[-1].content == f"logged {said}"
