"""The task-queue tools: a JSON list kept in a ``tasks`` block, pushed and popped."""

import json
from typing import Any

import pytest

import stdlib_tools
from agent import AgentState, AsyncClient, Block, Memory, ToolReturnMessage
from agent.testing import ScriptedModel, call, send
from stdlib_tools import task_queue_pop, task_queue_push


def state(value: str = "[]", limit: int = 200) -> AgentState:
    return AgentState(
        name="sam",
        memory=Memory(
            [
                Block(label="human", value="Name: Bob"),
                Block(label="tasks", value=value, limit=limit),
            ]
        ),
    )


def tasks(agent_state: AgentState) -> str:
    return agent_state.memory.get_block("tasks").value


def push(agent_state: AgentState, task: str) -> Any:
    return task_queue_push.invoke({"task_description": task}, agent_state=agent_state)


def pop(agent_state: AgentState) -> Any:
    return task_queue_pop.invoke({}, agent_state=agent_state)


def test_schemas_hide_agent_state() -> None:
    push_fn = task_queue_push.openai_schema()["function"]
    assert push_fn["name"] == "task_queue_push"
    assert list(push_fn["parameters"]["properties"]) == ["task_description"]
    assert push_fn["parameters"]["properties"]["task_description"]["description"]
    pop_fn = task_queue_pop.openai_schema()["function"]
    assert pop_fn["parameters"].get("properties", {}) == {}
    assert "agent_state" not in json.dumps([push_fn, pop_fn])


def test_not_in_the_base_tools() -> None:
    names = [t.name for t in stdlib_tools.BASE_TOOLS]
    assert "task_queue_push" not in names
    assert "task_queue_pop" not in names


def test_push_then_pop_in_order() -> None:
    s = state()
    first = push(s, "Buy milk")
    assert first.ok, first.content
    assert "1 task" in first.content
    second = push(s, "Call Alice")
    assert "2 task" in second.content
    assert json.loads(tasks(s)) == ["Buy milk", "Call Alice"]
    popped = pop(s)
    assert popped.ok
    assert "Buy milk" in popped.content
    assert '["Call Alice"]' in popped.content  # what remains
    assert json.loads(tasks(s)) == ["Call Alice"]
    assert "Call Alice" in pop(s).content
    assert json.loads(tasks(s)) == []


def test_an_empty_block_is_an_empty_queue() -> None:
    s = state(value="")
    assert pop(s).content == "The task queue is empty."
    assert push(s, "Buy milk").ok
    assert json.loads(tasks(s)) == ["Buy milk"]


def test_popping_an_empty_queue_says_so_and_changes_nothing() -> None:
    s = state()
    result = pop(s)
    assert result.ok
    assert result.content == "The task queue is empty."
    assert tasks(s) == "[]"


def test_tasks_keep_quotes_and_unicode() -> None:
    s = state()
    push(s, 'Say "hi" to Zoë')
    assert json.loads(tasks(s)) == ['Say "hi" to Zoë']
    assert 'Say "hi" to Zoë' in pop(s).content


def test_without_a_tasks_block_it_is_a_tool_error() -> None:
    s = AgentState(name="sam", memory=Memory([Block(label="human", value="Name: Bob")]))
    for result in (push(s, "Buy milk"), pop(s)):
        assert result.status == "error"
        assert "'tasks'" in result.content
    assert s.memory.get_block("human").value == "Name: Bob"


@pytest.mark.parametrize("value", ["not json", '{"a": 1}', '"a string"', "42", "[1, 2"])
def test_a_block_that_is_not_a_json_list_is_a_tool_error(value: str) -> None:
    s = state(value=value)
    for result in (push(s, "Buy milk"), pop(s)):
        assert result.status == "error"
        assert "JSON list" in result.content
    assert tasks(s) == value


def test_pushing_over_the_block_limit_is_an_error_and_changes_nothing() -> None:
    s = state(value='["Buy milk"]', limit=30)
    result = push(s, "Write the annual report for the board")
    assert result.status == "error"
    assert "'tasks'" in result.content
    assert "30" in result.content
    assert tasks(s) == '["Buy milk"]'


async def test_ainvoke() -> None:
    s = state()
    pushed = await task_queue_push.ainvoke({"task_description": "Buy milk"}, agent_state=s)
    assert pushed.ok
    popped = await task_queue_pop.ainvoke("{}", agent_state=s)
    assert "Buy milk" in popped.content
    assert tasks(s) == "[]"


# -- through the engine ------------------------------------------------------------------


async def run(database: str, replies: list[Any], value: str = "[]", limit: int = 200) -> Any:
    """One turn on ``database`` (each backend) in which the model makes ``replies``."""
    model = ScriptedModel([*replies, send("done")])
    client = AsyncClient(database, model=model)
    agent = await client.agents.create(
        memory_blocks=[{"label": "tasks", "value": value, "limit": limit}],
        tools=["task_queue_push", "task_queue_pop"],
    )
    try:
        response = await client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "plan my day"}]
        )
        returns = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
        block = await client.agents.blocks.retrieve(agent.id, block_label="tasks")
    finally:
        client.close()
    return returns, block.value, model


async def test_engine_push_and_pop(database: str) -> None:
    returns, value, model = await run(
        database,
        [
            call("task_queue_push", task_description="Buy milk"),
            call("task_queue_push", task_description="Call Alice"),
            call("task_queue_pop"),
        ],
    )
    assert [r.status for r in returns] == ["success", "success", "success"]
    assert "Buy milk" in returns[2].tool_return
    assert json.loads(value) == ["Call Alice"]
    # the model sees the queue in its core memory as it changes
    assert '["Buy milk", "Call Alice"]' in model.requests[2].messages[0]["content"]
    assert '["Call Alice"]' in model.requests[3].messages[0]["content"]


async def test_engine_over_the_limit_is_an_error_and_the_block_is_unchanged(
    database: str,
) -> None:
    returns, value, model = await run(
        database, [call("task_queue_push", task_description="x" * 50)], value='["a"]', limit=30
    )
    (refusal,) = returns
    assert refusal.status == "error"
    assert "30" in refusal.tool_return
    assert value == '["a"]'
    assert model.requests[1].messages[-1]["content"] == refusal.tool_return


async def test_engine_a_broken_block_is_an_error(database: str) -> None:
    returns, value, _ = await run(database, [call("task_queue_pop")], value="milk, eggs")
    (refusal,) = returns
    assert refusal.status == "error"
    assert "JSON list" in refusal.tool_return
    assert value == "milk, eggs"


async def test_engine_without_a_tasks_block(database: str) -> None:
    model = ScriptedModel([call("task_queue_push", task_description="Buy milk"), send("sorry")])
    client = AsyncClient(database, model=model)
    try:
        agent = await client.agents.create(
            memory_blocks=[{"label": "human"}], tools=["task_queue_push"]
        )
        response = await client.agents.messages.create(
            agent_id=agent.id, messages=[{"role": "user", "content": "remember milk"}]
        )
        (refusal,) = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
        assert refusal.status == "error"
        assert "'tasks'" in refusal.tool_return
        assert [b.label for b in await client.agents.blocks.list(agent.id)] == ["human"]
    finally:
        client.close()
