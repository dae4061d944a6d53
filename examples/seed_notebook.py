"""The seed notebook ("self-editing memory from scratch", then agents with memory), in selfedit.

Every step of the notebook, in order. With ``OPENAI_API_KEY`` set it talks to
``openai/gpt-4o-mini``; without, a scripted model plays plausible replies (and says so), so the
whole walk runs offline. ``make demo`` runs it; the test suite runs it and checks the end state.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent import Client, Model, ModelRequest, ModelResponse, OpenAIModel
from agent._printing import RULE, format_message
from agent.testing import FakeEmbedding, FunctionModel, call, calls, send, text
from stdlib_tools import task_queue_pop, task_queue_push
from toolkit import tool

if TYPE_CHECKING:
    from agent import AgentState

TASK_SYSTEM = """\
You are an agent with a task queue kept in your core memory block "tasks".
When the user gives you tasks, push each one separately with task_queue_push.
When asked to complete your tasks, pop them one at a time with task_queue_pop and do each,
until the queue is empty. Talk to the user only with send_message."""


def print_message(message: Any) -> None:
    """The notebook's ``print_message``."""
    print(format_message(message))
    print(RULE)


def heading(title: str) -> None:
    """A section title, like the notebook's markdown cells."""
    print(f"\n{'=' * 70}\n{title}\n{'=' * 70}")


# -- the scripted stand-in for a real model -------------------------------------------------

Step = Callable[[ModelRequest], ModelResponse]


def _last_tool_return(request: ModelRequest) -> str:
    return next(str(m["content"]) for m in reversed(request.messages) if m["role"] == "tool")


def _steps_taken(request: ModelRequest) -> int:
    """Model replies already made since the newest user message."""
    newest_user = max(i for i, m in enumerate(request.messages) if m["role"] == "user")
    return sum(1 for m in request.messages[newest_user:] if m["role"] == "assistant")


SCRIPT: dict[str, list[Step]] = {
    # the from-scratch part
    "my name is bob.": [
        lambda r: call("core_memory_save", section="human", memory="Name: Bob"),
        lambda r: text("Nice to meet you, Bob! I'll remember your name."),
    ],
    "what is my name": [lambda r: text("Your name is Bob.")],
    # the agent part
    "hows it going????": [lambda r: send("Going great, Charles! 😄 How about you?")],
    "my name actually Sarah ": [
        lambda r: call(
            "core_memory_replace",
            label="human",
            old_content="My name is Charles",
            new_content="My name is Sarah",
        ),
        lambda r: send("Got it, Sarah! 😊 I've updated my memory."),
    ],
    "Save the information that 'bob loves cats' to archival": [
        lambda r: call("archival_memory_insert", content="bob loves cats"),
        lambda r: send("Saved to archival memory: bob loves cats 🐱"),
    ],
    "What animals do I like? Search archival.": [
        lambda r: call("archival_memory_search", query="animals bob loves"),
        lambda r: send("You love cats and Boston terriers! 🐱🐶"),
    ],
    "What is your agent id?": [
        lambda r: call("get_agent_id"),
        lambda r: send(f"My agent id is {_last_tool_return(r)}"),
    ],
    "Add 'start calling me Charles' and 'tell me a haiku about my name' as two seperate tasks.": [
        lambda r: calls(
            ("task_queue_push", {"task_description": "start calling me Charles"}),
            ("task_queue_push", {"task_description": "tell me a haiku about my name"}),
        ),
        lambda r: send("Added both tasks to my queue."),
    ],
    "Complete your tasks": [
        lambda r: call("task_queue_pop"),
        lambda r: call("task_queue_pop"),
        lambda r: call("task_queue_pop"),
        lambda r: send(
            "Done, Charles! Your haiku:\nCharles, steady and bright\n"
            "a name like a morning bell\nringing through the day"
        ),
    ],
}


def _play(request: ModelRequest) -> ModelResponse:
    said = request.last_user_message or ""
    steps = SCRIPT.get(said)
    if steps is None:
        return send("(scripted model) I have no scripted reply for that.")
    taken = _steps_taken(request)
    return steps[min(taken, len(steps) - 1)](request)


def scripted_model() -> FunctionModel:
    """The offline stand-in: plays the replies a real model plausibly gives at each step."""
    return FunctionModel(_play, name="scripted/seed")


# -- part 1: self-editing memory from scratch ------------------------------------------------


def from_scratch(model: Model) -> dict[str, str]:
    """A [MEMORY] section the model edits with a tool, and the agentic loop around it."""
    heading("Part 1: self-editing memory from scratch")
    agent_memory = {"human": "", "agent": ""}

    @tool
    def core_memory_save(section: Literal["human", "agent"], memory: str) -> str:
        """Save important information about you, the agent or the human you are chatting with.

        Args:
            section: 'human' to save information about the human, 'agent' about yourself.
            memory: Memory to save in the section.
        """
        agent_memory[section] += "\n" + memory
        return f"Updated memory: {json.dumps(agent_memory)}"

    print("The tool schema the model sees:")
    print(json.dumps(core_memory_save.openai_schema(), indent=2))
    system_prompt = (
        "You are a chatbot. You have a section of your context called [MEMORY] that contains "
        "information relevant to your conversation. You must either call a tool "
        "(core_memory_save) or write a response to the user. Do not take the same actions "
        "multiple times! When you learn new information, make sure to always call the "
        "core_memory_save tool."
    )

    def agent_step(user_message: str) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": user_message}]
        while True:  # the agentic loop: tools until the model answers in text
            context = [
                {"role": "system", "content": system_prompt},
                {"role": "system", "content": "[MEMORY]\n" + json.dumps(agent_memory)},
                *messages,
            ]
            request = ModelRequest(context, [core_memory_save.openai_schema()], "auto")
            reply = _run(model.complete(request))
            if not reply.tool_calls:
                return reply.text or ""
            messages.append(_assistant(reply))
            for c in reply.tool_calls:
                print(f"TOOL CALL: {c.name}({c.arguments})")
                result = core_memory_save.invoke(c.arguments)
                messages.append({"role": "tool", "tool_call_id": c.id, "content": result.content})

    print("\n>>> my name is bob.")
    print(agent_step("my name is bob."))
    print("memory:", agent_memory)
    print("\n>>> what is my name")
    print(agent_step("what is my name"))
    return agent_memory


def _assistant(reply: ModelResponse) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": reply.text or "",
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
    }


def _run(awaitable: Any) -> Any:
    return asyncio.run(awaitable)


# -- part 2: agents with memory --------------------------------------------------------------


def get_agent_id(agent_state: AgentState) -> str:
    """Query your agent ID field."""
    return agent_state.id


def _say(client: Client, agent_id: str, content: str, stream: bool = False) -> Any:
    print(f"\n>>> {content}")
    messages = [{"role": "user", "content": content}]
    if stream:
        for chunk in client.agents.messages.create_stream(agent_id=agent_id, messages=messages):
            print_message(chunk)
        return None
    response = client.agents.messages.create(agent_id=agent_id, messages=messages)
    for message in response.messages:
        print_message(message)
    return response


def with_agents(client: Client) -> dict[str, Any]:
    """The Letta part of the notebook: agents, core memory, archival memory, tools, tasks."""
    heading("Part 2: building agents with memory")
    print("agents before:", client.agents.list())
    agent_state = client.agents.create(
        name="simple_agent",
        memory_blocks=[
            {"label": "human", "value": "My name is Charles", "limit": 10000},
            {"label": "persona", "value": "You are a helpful assistant and you always use emojis"},
        ],
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
    )
    response = _say(client, agent_state.id, "hows it going????")
    print("usage:", response.usage.completion_tokens, response.usage.prompt_tokens,
          response.usage.step_count)  # fmt: skip

    heading("Understanding agent state")
    print(agent_state.system)
    print([t.name for t in agent_state.tools])
    print(agent_state.memory)
    for message in client.agents.messages.list(agent_id=agent_state.id):
        print_message(message)
    print("passages:", client.agents.passages.list(agent_id=agent_state.id))

    heading("Understanding core memory")
    response = _say(client, agent_state.id, "my name actually Sarah ")
    print("usage:", response.usage.completion_tokens, response.usage.prompt_tokens,
          response.usage.step_count)  # fmt: skip
    human = client.agents.blocks.retrieve(agent_id=agent_state.id, block_label="human").value
    print("human block:", human)

    heading("Understanding archival memory")
    _say(client, agent_state.id, "Save the information that 'bob loves cats' to archival")
    print([p.text for p in client.agents.passages.list(agent_id=agent_state.id)])
    client.agents.passages.create(agent_id=agent_state.id, text="Bob's loves boston terriers")
    _say(client, agent_state.id, "What animals do I like? Search archival.")
    passages = [p.text for p in client.agents.passages.list(agent_id=agent_state.id)]

    heading("Memory blocks")
    blocks = client.agents.blocks.list(agent_id=agent_state.id)
    print(blocks)
    print(client.blocks.retrieve(blocks[0].id))
    print(client.agents.blocks.retrieve(agent_id=agent_state.id, block_label="human"))
    print(client.agents.core_memory.retrieve(agent_id=agent_state.id).prompt_template)

    heading("Accessing AgentState with tools")
    get_id_tool = client.tools.upsert_from_function(func=get_agent_id)
    id_agent = client.agents.create(
        memory_blocks=[],
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        tool_ids=[get_id_tool.id],
    )
    _say(client, id_agent.id, "What is your agent id?", stream=True)
    id_reply = client.agents.messages.list(agent_id=id_agent.id)[-1]

    heading("Custom task queue memory")
    task_queue_pop_tool = client.tools.upsert_from_function(func=task_queue_pop)
    task_queue_push_tool = client.tools.upsert_from_function(func=task_queue_push)
    task_agent = client.agents.create(
        system=TASK_SYSTEM,
        memory_blocks=[{"label": "tasks", "value": json.dumps([])}],
        model="openai/gpt-4o-mini",
        embedding="openai/text-embedding-3-small",
        tool_ids=[task_queue_pop_tool.id, task_queue_push_tool.id],
        include_base_tools=False,
        tools=["send_message"],
    )
    print([t.name for t in task_agent.tools])
    print(client.agents.blocks.retrieve(task_agent.id, block_label="tasks").value)
    _say(
        client,
        task_agent.id,
        "Add 'start calling me Charles' and 'tell me a haiku about my name' as two seperate tasks.",
        stream=True,
    )
    queued = client.agents.blocks.retrieve(task_agent.id, block_label="tasks").value
    print("tasks:", queued)
    _say(client, task_agent.id, "Complete your tasks", stream=True)
    tasks = client.agents.blocks.retrieve(block_label="tasks", agent_id=task_agent.id).value
    print("tasks:", tasks)
    return {
        "human": human,
        "passages": passages,
        "agent_id": id_agent.id,
        "id_reply": getattr(id_reply, "content", ""),
        "task_tools": [t.name for t in task_agent.tools],
        "queued": json.loads(queued),
        "tasks": json.loads(tasks),
    }


def main(path: str | Path = ":memory:", offline: bool | None = None) -> dict[str, Any]:
    """Run the whole notebook; returns the end state (block values, passages, tasks)."""
    offline = not os.environ.get("OPENAI_API_KEY") if offline is None else offline
    if offline:
        print("No OPENAI_API_KEY: a scripted model plays plausible replies (offline demo).")
        model: Model = scripted_model()
        client = Client(path, model=model, embedding=FakeEmbedding())
    else:
        print("Using openai/gpt-4o-mini (OPENAI_API_KEY is set).")
        model = OpenAIModel("openai/gpt-4o-mini")
        client = Client(path)
    try:
        memory = from_scratch(model)
        state = with_agents(client)
    finally:
        client.close()
    return {"scratch_memory": memory, **state}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ":memory:")
