"""The step engine: tool calls, send_message, nudges, max_steps, loop cuts, errors, usage.

Every test runs on both backends (the ``database`` fixture): SQLite and PostgreSQL.
"""

import json
from collections.abc import Callable
from typing import Any

import pytest

from agent import (
    AgentState,
    AssistantMessage,
    AsyncClient,
    Block,
    ModelError,
    ModelRequest,
    ModelResponse,
    ModelToolCall,
    ModelUsage,
    ReasoningMessage,
    SystemMessage,
    ToolCallMessage,
    ToolReturnMessage,
)
from agent.testing import FunctionModel, ScriptedModel, call, calls, send, text
from toolkit import ToolError

MakeClient = Callable[..., AsyncClient]

pytestmark = pytest.mark.usefixtures("database")


def user(content: str = "hi") -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def kinds(messages: list[Any]) -> list[str]:
    return [m.message_type for m in messages]


async def setup(
    make_async_client: MakeClient, replies: list[Any], **create: Any
) -> tuple[AsyncClient, AgentState, ScriptedModel]:
    model = ScriptedModel(replies)
    client = make_async_client(model=model)
    create.setdefault("memory_blocks", [{"label": "human", "value": "Name: Bob"}])
    agent = await client.agents.create(**create)
    return client, agent, model


async def human(client: AsyncClient, agent: AgentState) -> str:
    return (await client.agents.blocks.retrieve(agent.id, block_label="human")).value


def system_prompt(request: ModelRequest) -> str:
    first = request.messages[0]
    assert first["role"] == "system"
    return str(first["content"])


# -- send_message and other tools --------------------------------------------------------


async def test_send_message_replies_and_ends_the_turn(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(make_async_client, [send("Hello Bob!")])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert kinds(response.messages) == ["assistant_message"]
    assert response.messages[0].content == "Hello Bob!"
    assert response.usage.step_count == 1
    assert len(model.requests) == 1
    assert model.requests[0].tool_choice == "required"


async def test_every_call_of_a_reply_runs_before_the_turn_ends(
    make_async_client: MakeClient,
) -> None:
    reply = calls(
        ("core_memory_append", {"label": "human", "content": "Likes tea."}),
        ("send_message", {"message": "Noted!"}),
    )
    client, agent, model = await setup(make_async_client, [reply])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert kinds(response.messages) == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
    assert await human(client, agent) == "Name: Bob\nLikes tea."
    assert len(model.requests) == 1


async def test_calls_after_send_message_in_the_same_reply_still_run(
    make_async_client: MakeClient,
) -> None:
    reply = calls(
        ("send_message", {"message": "Noted!"}),
        ("core_memory_append", {"label": "human", "content": "Likes tea."}),
    )
    client, agent, model = await setup(make_async_client, [reply])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert "assistant_message" in kinds(response.messages)
    assert await human(client, agent) == "Name: Bob\nLikes tea."
    assert len(model.requests) == 1


async def test_another_tool_continues_the_turn(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(
        make_async_client,
        [call("core_memory_append", label="human", content="Likes tea."), send("Done.")],
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert kinds(response.messages) == [
        "tool_call_message",
        "tool_return_message",
        "assistant_message",
    ]
    tool_call, tool_return = response.messages[0], response.messages[1]
    assert isinstance(tool_call, ToolCallMessage)
    assert isinstance(tool_return, ToolReturnMessage)
    assert tool_call.tool_call.name == "core_memory_append"
    assert json.loads(tool_call.tool_call.arguments) == {
        "label": "human",
        "content": "Likes tea.",
    }
    assert tool_return.tool_call_id == tool_call.tool_call.tool_call_id
    assert tool_return.status == "success"
    assert len(model.requests) == 2
    assert response.usage.step_count == 2


async def test_text_beside_tool_calls_is_reasoning(make_async_client: MakeClient) -> None:
    client, agent, _ = await setup(
        make_async_client, [send("Hi!", reasoning="The user greets me.")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert kinds(response.messages) == ["reasoning_message", "assistant_message"]
    reasoning = response.messages[0]
    assert isinstance(reasoning, ReasoningMessage)
    assert reasoning.reasoning == "The user greets me."


async def test_request_history_is_in_chat_format(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(
        make_async_client,
        [call("core_memory_append", label="human", content="Likes tea."), send("Done.")],
    )
    await client.agents.messages.create(agent_id=agent.id, messages=user("I like tea"))
    second = model.requests[1].messages
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[1]["content"] == "I like tea"
    assert second[2]["content"] == ""
    (tool_call,) = second[2]["tool_calls"]
    assert tool_call["function"]["name"] == "core_memory_append"
    assert second[3]["tool_call_id"] == tool_call["id"]
    assert model.requests[1].tool_names == [
        "send_message",
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
    ]


# -- replies without a tool call ---------------------------------------------------------


async def test_no_tool_call_is_reasoning_then_send_message_is_forced(
    make_async_client: MakeClient,
) -> None:
    client, agent, model = await setup(
        make_async_client, [text("Let me think."), send("Here you go.")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert kinds(response.messages) == ["reasoning_message", "assistant_message"]
    assert response.messages[0].reasoning == "Let me think."
    assert [r.tool_choice for r in model.requests] == ["required", "send_message"]
    assert response.usage.step_count == 2


async def test_no_tool_call_twice_ends_with_no_tool_call(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(
        make_async_client, [text("Let me think."), text("Just text, sorry.")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "no_tool_call"
    assert len(model.requests) == 2
    assert model.requests[1].tool_choice == "send_message"
    replies = [m for m in response.messages if isinstance(m, AssistantMessage)]
    assert [m.content for m in replies] == ["Just text, sorry."]
    assert response.messages[0].message_type == "reasoning_message"


# -- max_steps ---------------------------------------------------------------------------


def counting_model(stop_at: int | None = None) -> FunctionModel:
    """Calls core_memory_append with new content each step (never a repeated call)."""

    def reply(request: ModelRequest) -> ModelResponse:
        step = len(model.requests) - 1  # this request is already recorded
        if stop_at is not None and step >= stop_at:
            return send("done")
        return call("core_memory_append", label="log", content=f"step {step}")

    model = FunctionModel(reply)
    return model


async def test_max_steps_is_20_by_default(make_async_client: MakeClient) -> None:
    model = counting_model()
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "log", "value": ""}])
    assert agent.max_steps == 20
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "max_steps"
    assert len(model.requests) == 20
    assert response.usage.step_count == 20
    assert [r.tool_choice for r in model.requests] == ["required"] * 19 + ["send_message"]


async def test_max_steps_can_be_set(make_async_client: MakeClient) -> None:
    model = counting_model()
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "log", "value": ""}], max_steps=3)
    assert agent.max_steps == 3
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "max_steps"
    assert [r.tool_choice for r in model.requests] == ["required", "required", "send_message"]
    log = await client.agents.blocks.retrieve(agent.id, block_label="log")
    assert log.value == "step 0\nstep 1\nstep 2"


async def test_last_step_sending_ends_the_turn_normally(make_async_client: MakeClient) -> None:
    model = counting_model(stop_at=2)
    client = make_async_client(model=model)
    agent = await client.agents.create(memory_blocks=[{"label": "log", "value": ""}], max_steps=3)
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert response.messages[-1].content == "done"
    assert model.requests[-1].tool_choice == "send_message"


async def test_max_steps_one_forces_send_message_at_once(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(make_async_client, [send("hi")], max_steps=1)
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "end_turn"
    assert model.requests[0].tool_choice == "send_message"


async def test_text_on_the_last_step_ends_with_max_steps(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(
        make_async_client,
        [call("core_memory_append", label="human", content="x"), text("hmm")],
        max_steps=2,
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "max_steps"
    assert len(model.requests) == 2


# -- loop cut ----------------------------------------------------------------------------


async def test_a_fourth_identical_call_is_not_run(make_async_client: MakeClient) -> None:
    runs: list[str] = []

    def lookup(city: str) -> str:
        """Look up the weather in a city.

        Args:
            city: The city.
        """
        runs.append(city)
        return "sunny"

    model = ScriptedModel([*[call("lookup", city="Paris") for _ in range(4)], send("Sunny.")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=lookup)
    agent = await client.agents.create(tool_ids=[stored.id])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert runs == ["Paris"] * 3
    returns = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert [r.status for r in returns] == ["success", "success", "success", "error"]
    assert "3 times" in returns[3].tool_return
    assert "lookup" in returns[3].tool_return
    assert response.stop_reason == "end_turn"
    # the model saw the refusal as the call's result
    assert model.requests[4].messages[-1]["content"] == returns[3].tool_return


async def test_identical_calls_in_one_reply_are_cut_too(make_async_client: MakeClient) -> None:
    runs: list[str] = []

    def lookup(city: str) -> str:
        """Look up the weather in a city.

        Args:
            city: The city.
        """
        runs.append(city)
        return "sunny"

    reply = calls(*[("lookup", {"city": "Paris"})] * 5, ("send_message", {"message": "ok"}))
    model = ScriptedModel([reply])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=lookup)
    agent = await client.agents.create(tool_ids=[stored.id])
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert runs == ["Paris"] * 3


async def test_argument_order_does_not_dodge_the_cut(make_async_client: MakeClient) -> None:
    runs: list[str] = []

    def lookup(city: str, country: str) -> str:
        """Look up the weather in a city.

        Args:
            city: The city.
            country: Its country.
        """
        runs.append(city)
        return "sunny"

    a = '{"city": "Paris", "country": "FR"}'
    b = '{"country":"FR","city":"Paris"}'
    model = ScriptedModel(
        [call("lookup", a), call("lookup", b), call("lookup", a), call("lookup", b), send("ok")]
    )
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=lookup)
    agent = await client.agents.create(tool_ids=[stored.id])
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert len(runs) == 3


async def test_calls_with_changing_results_are_never_cut(make_async_client: MakeClient) -> None:
    count = {"n": 0}

    def tick() -> int:
        """Add one to the counter and return it."""
        count["n"] += 1
        return count["n"]

    model = ScriptedModel([*[call("tick") for _ in range(6)], send("ok")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=tick)
    agent = await client.agents.create(tool_ids=[stored.id])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    returns = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert [r.tool_return for r in returns] == ["1", "2", "3", "4", "5", "6"]
    assert {r.status for r in returns} == {"success"}
    assert count["n"] == 6


async def test_a_different_call_resets_the_streak(make_async_client: MakeClient) -> None:
    runs: list[str] = []

    def lookup(city: str) -> str:
        """Look up the weather in a city.

        Args:
            city: The city.
        """
        runs.append(city)
        return "sunny"

    script = [call("lookup", city=c) for c in ["Paris"] * 3 + ["Rome"] + ["Paris"] * 3]
    model = ScriptedModel([*script, send("ok")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=lookup)
    agent = await client.agents.create(tool_ids=[stored.id])
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert len(runs) == 7


# -- memory edits during a turn ----------------------------------------------------------


async def test_the_next_request_of_the_turn_sees_the_edit(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(
        make_async_client,
        [call("core_memory_append", label="human", content="Likes tea."), send("Done.")],
    )
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    before, after = (system_prompt(r) for r in model.requests)
    assert "Name: Bob" in before
    assert "Likes tea." not in before
    assert "Name: Bob\nLikes tea." in after
    assert "chars_current=20" in after


async def test_a_failing_tool_leaves_memory_as_it_was(make_async_client: MakeClient) -> None:
    def scribble(agent_state: "AgentState", text: str) -> str:
        """Write to memory, then fail.

        Args:
            text: What to write.
        """
        agent_state.memory.update_block_value("human", text)
        raise RuntimeError("disk on fire")

    model = ScriptedModel([call("scribble", text="GARBAGE"), send("sorry")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=scribble)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored.id]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    (failed,) = [m for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert failed.status == "error"
    assert "disk on fire" in failed.tool_return
    assert response.stop_reason == "end_turn"
    assert await human(client, agent) == "Name: Bob"
    assert (await client.agents.retrieve(agent.id)).memory.get_block("human").value == "Name: Bob"
    assert "GARBAGE" not in system_prompt(model.requests[1])


async def test_a_tool_error_after_an_edit_is_rolled_back_too(
    make_async_client: MakeClient,
) -> None:
    def scribble(agent_state: "AgentState") -> str:
        """Write to memory, then refuse."""
        agent_state.memory.update_block_value("human", "GARBAGE")
        raise ToolError("Refused: try again later.")

    model = ScriptedModel([call("scribble"), send("sorry")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=scribble)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored.id]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    failed = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert failed.tool_return == "Refused: try again later."
    assert await human(client, agent) == "Name: Bob"


async def test_only_the_failing_call_is_undone(make_async_client: MakeClient) -> None:
    reply = calls(
        ("core_memory_append", {"label": "human", "content": "Likes tea."}),
        ("core_memory_append", {"label": "human", "content": "x" * 6000}),
        ("send_message", {"message": "ok"}),
    )
    client, agent, _ = await setup(make_async_client, [reply])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    statuses = [m.status for m in response.messages if isinstance(m, ToolReturnMessage)]
    assert statuses == ["success", "error"]
    assert await human(client, agent) == "Name: Bob\nLikes tea."


async def test_a_failing_tool_that_adds_a_block_leaves_memory_as_it_was(
    make_async_client: MakeClient,
) -> None:
    def sprout(agent_state: "AgentState") -> str:
        """Add a block to memory, then fail."""
        agent_state.memory.add_block(Block(label="extra", value="GARBAGE"))
        raise RuntimeError("oops")

    model = ScriptedModel([call("sprout"), send("sorry")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=sprout)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob"}], tool_ids=[stored.id]
    )
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    labels = [b.label for b in await client.agents.blocks.list(agent.id)]
    assert labels == ["human"]
    assert "GARBAGE" not in system_prompt(model.requests[1])


async def test_a_failing_tool_that_changes_a_description_leaves_it_as_it_was(
    make_async_client: MakeClient,
) -> None:
    def redescribe(agent_state: "AgentState") -> str:
        """Change a block's description, then fail."""
        agent_state.memory.get_block("human").description = "GARBAGE"
        raise RuntimeError("oops")

    model = ScriptedModel([call("redescribe"), send("sorry")])
    client = make_async_client(model=model)
    stored = await client.tools.upsert_from_function(func=redescribe)
    agent = await client.agents.create(
        memory_blocks=[{"label": "human", "value": "Name: Bob", "description": "The user"}],
        tool_ids=[stored.id],
    )
    await client.agents.messages.create(agent_id=agent.id, messages=user())
    block = await client.agents.blocks.retrieve(agent.id, block_label="human")
    assert block.description == "The user"
    assert "GARBAGE" not in system_prompt(model.requests[1])


async def test_read_only_block_edit_through_the_engine_is_refused(
    make_async_client: MakeClient,
) -> None:
    client, agent, model = await setup(
        make_async_client,
        [call("core_memory_append", label="persona", content="I obey."), send("no")],
        memory_blocks=[{"label": "persona", "value": "I am Sam.", "read_only": True}],
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    refusal = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert refusal.status == "error"
    assert "read-only" in refusal.tool_return
    block = await client.agents.blocks.retrieve(agent.id, block_label="persona")
    assert block.value == "I am Sam."
    assert "I obey." not in system_prompt(model.requests[1])


# -- model mistakes ----------------------------------------------------------------------


async def test_unknown_tool_is_an_error_result_and_the_run_goes_on(
    make_async_client: MakeClient,
) -> None:
    client, agent, model = await setup(
        make_async_client, [call("launch_rockets", target="moon"), send("Cannot do that.")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    failed = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert failed.status == "error"
    assert "launch_rockets" in failed.tool_return
    assert response.stop_reason == "end_turn"
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    "arguments",
    ['{"label": "human", "content": ', "not json at all", '["human", "x"]', ""],
)
async def test_bad_arguments_are_an_error_result_and_change_nothing(
    make_async_client: MakeClient, arguments: str
) -> None:
    client, agent, model = await setup(
        make_async_client, [call("core_memory_append", arguments), send("Oops.")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    failed = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert failed.status == "error"
    assert response.stop_reason == "end_turn"
    assert await human(client, agent) == "Name: Bob"
    assert len(model.requests) == 2


async def test_send_message_with_bad_arguments_does_not_end_the_turn(
    make_async_client: MakeClient,
) -> None:
    client, agent, _ = await setup(
        make_async_client, [call("send_message", {"text": "hi"}), send("hi")]
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    failed = next(m for m in response.messages if isinstance(m, ToolReturnMessage))
    assert failed.status == "error"
    assert response.stop_reason == "end_turn"
    assert [m.content for m in response.messages if isinstance(m, AssistantMessage)] == ["hi"]


# -- model errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [ModelError("quota exhausted"), RuntimeError("quota exhausted"), TimeoutError()]
)
async def test_a_model_error_ends_the_turn_with_error(
    make_async_client: MakeClient, error: BaseException
) -> None:
    client, agent, _ = await setup(make_async_client, [error])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    (note,) = response.messages
    assert isinstance(note, SystemMessage)
    assert type(error).__name__ in note.content
    assert str(error) in note.content
    assert response.usage.step_count == 0


async def test_a_model_error_mid_turn_keeps_the_done_work(make_async_client: MakeClient) -> None:
    client, agent, _ = await setup(
        make_async_client,
        [call("core_memory_append", label="human", content="Likes tea."), ModelError("down")],
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "error"
    assert kinds(response.messages) == [
        "tool_call_message",
        "tool_return_message",
        "system_message",
    ]
    assert "down" in response.messages[-1].content
    assert response.usage.step_count == 1
    assert await human(client, agent) == "Name: Bob\nLikes tea."


async def test_the_agent_works_again_after_a_model_error(make_async_client: MakeClient) -> None:
    client, agent, model = await setup(make_async_client, [ModelError("down"), send("back")])
    first = await client.agents.messages.create(agent_id=agent.id, messages=user("one"))
    second = await client.agents.messages.create(agent_id=agent.id, messages=user("two"))
    assert (first.stop_reason, second.stop_reason) == ("error", "end_turn")
    roles = [m["role"] for m in model.requests[1].messages]
    assert roles == ["system", "user", "user"]


# -- usage -------------------------------------------------------------------------------


async def test_usage_is_summed_over_the_turn(make_async_client: MakeClient) -> None:
    def reply(n: int, name: str, arguments: dict[str, Any]) -> ModelResponse:
        return ModelResponse(
            None, [ModelToolCall(name, json.dumps(arguments), f"c{n}")], ModelUsage(100 * n, n)
        )

    client, agent, _ = await setup(
        make_async_client,
        [
            reply(1, "core_memory_append", {"label": "human", "content": "a"}),
            reply(2, "core_memory_append", {"label": "human", "content": "b"}),
            reply(3, "send_message", {"message": "done"}),
        ],
    )
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    usage = response.usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (600, 6)
    assert usage.total_tokens == 606
    assert usage.step_count == 3


async def test_usage_counts_the_nudge_step(make_async_client: MakeClient) -> None:
    client, agent, _ = await setup(make_async_client, [text("hm"), send("ok")])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.usage.step_count == 2
    assert response.usage.prompt_tokens == 20
    assert response.usage.completion_tokens == 10
    assert response.usage.total_tokens == 30


async def test_a_no_tool_call_reply_is_in_the_history_as_delivered(
    make_async_client: MakeClient,
) -> None:
    client, agent, _ = await setup(make_async_client, [text("Hmm."), text("Plain answer.")])
    response = await client.agents.messages.create(agent_id=agent.id, messages=user())
    assert response.stop_reason == "no_tool_call"
    assert response.messages[-1].message_type == "assistant_message"
    history = await client.agents.messages.list(agent_id=agent.id)
    assert history[-1].message_type == "assistant_message"
    assert history[-1].content == "Plain answer."
