"""The seed notebook's Letta cells, run with the real ``letta_client`` against ``selfedit serve``.

Only the base URL differs from the notebook (its helpers read it from the environment): the
code below is the notebook's, cell by cell. Start the server first, then run this file:

    selfedit serve --db seed.db                 # real models: OPENAI_API_KEY must be set
    selfedit serve --db seed.db --stand-in seed_notebook:scripted_model   # offline (run from
                                                # examples/, so seed_notebook is importable)
    python examples/seed_letta_client.py

The task-queue tools call back into the server at http://localhost:8283 from inside their own
turn, exactly as they do against Letta.
"""

import json
from pathlib import Path

from letta_client import Letta

HERE = Path(__file__).parent


def get_letta_token():
    return None


def get_letta_base_url():
    return "http://localhost:8283"


client = Letta(token=get_letta_token(), base_url=get_letta_base_url())

# to test it
print(client.agents.list())  # Should return empty or list of agents


def print_message(message):
    if message.message_type == "reasoning_message":
        print("🧠 Reasoning: " + message.reasoning)
    elif message.message_type == "assistant_message":
        print("🤖 Agent: " + message.content)
    elif message.message_type == "tool_call_message":
        print("🔧 Tool Call: " + message.tool_call.name + "\n" + message.tool_call.arguments)
    elif message.message_type == "tool_return_message":
        print("🔧 Tool Return: " + message.tool_return)
    elif message.message_type == "user_message":
        print("👤 User Message: " + message.content)


# Creating a simple agent with memory
agent_state = client.agents.create(
    name="simple_agent",
    memory_blocks=[
        {
            "label": "human",
            "value": "My name is Charles",
            "limit": 10000,  # character limit
        },
        {"label": "persona", "value": "You are a helpful assistant and you always use emojis"},
    ],
    model="openai/gpt-4o-mini-2024-07-18",
    embedding="openai/text-embedding-3-small",
)

# send a message to the agent
response = client.agents.messages.create(
    agent_id=agent_state.id, messages=[{"role": "user", "content": "hows it going????"}]
)
for message in response.messages:
    print_message(message)

print(response.usage.completion_tokens)
print(response.usage.prompt_tokens)
print(response.usage.step_count)

print(agent_state.system)
print([t.name for t in agent_state.tools])
print(agent_state.memory)

for message in client.agents.messages.list(agent_id=agent_state.id):
    print_message(message)

passages = client.agents.passages.list(agent_id=agent_state.id)
print(passages)

# Understanding core memory
response = client.agents.messages.create(
    agent_id=agent_state.id, messages=[{"role": "user", "content": "my name actually Sarah "}]
)
for message in response.messages:
    print_message(message)
print(response.usage.completion_tokens)
print(response.usage.prompt_tokens)
print(response.usage.step_count)

print(client.agents.blocks.retrieve(agent_id=agent_state.id, block_label="human").value)

# Understanding archival memory
passages = client.agents.passages.list(agent_id=agent_state.id)
print(passages)

response = client.agents.messages.create(
    agent_id=agent_state.id,
    messages=[
        {"role": "user", "content": "Save the information that 'bob loves cats' to archival"}
    ],
)
for message in response.messages:
    print_message(message)

passages = client.agents.passages.list(agent_id=agent_state.id)
print([passage.text for passage in passages])

client.agents.passages.create(agent_id=agent_state.id, text="Bob's loves boston terriers")

response = client.agents.messages.create(
    agent_id=agent_state.id,
    messages=[{"role": "user", "content": "What animals do I like? Search archival."}],
)
for message in response.messages:
    print_message(message)


def print_message(message):  # the notebook redefines it, as here
    if message.message_type == "reasoning_message":
        print("🧠 Reasoning: " + message.reasoning)
    elif message.message_type == "assistant_message":
        print("🤖 Agent: " + message.content)
    elif message.message_type == "tool_call_message":
        print("🔧 Tool Call: " + message.tool_call.name + "\n" + message.tool_call.arguments)
    elif message.message_type == "tool_return_message":
        print("🔧 Tool Return: " + message.tool_return)
    elif message.message_type == "user_message":
        print("👤 User Message: " + message.content)
    elif message.message_type == "usage_statistics":
        # for streaming specifically, we send the final chunk that contains the usage statistics
        print(f"Usage: [{message}]")
    else:
        print(message)
    print("-----------------------------------------------------")


# Memory blocks
agent_state = client.agents.create(
    memory_blocks=[
        {"label": "human", "value": "The human's name is Bob the Builder."},
        {"label": "persona", "value": "My name is Sam, the all-knowing sentient AI."},
    ],
    model="openai/gpt-4o-mini",
    embedding="openai/text-embedding-3-small",
)
blocks = client.agents.blocks.list(agent_id=agent_state.id)

# Note: Replace the block_id with the id from the cell above.
block_id = "add_block_id_above"
try:
    client.blocks.retrieve(block_id)
except Exception as e:  # the notebook's placeholder id is not a block: a 404, as from Letta
    print(e)
print(client.blocks.retrieve(blocks[0].id))

human_block = client.agents.blocks.retrieve(agent_id=agent_state.id, block_label="human")
print(human_block)

print(client.agents.core_memory.retrieve(agent_id=agent_state.id).prompt_template)


# Accessing AgentState with tools
def get_agent_id(agent_state: "AgentState"):  # noqa: F821
    """
    Query your agent ID field
    """
    return agent_state.id


get_id_tool = client.tools.upsert_from_function(func=get_agent_id)

agent_state = client.agents.create(
    memory_blocks=[],
    model="openai/gpt-4o-mini",
    embedding="openai/text-embedding-3-small",
    tool_ids=[get_id_tool.id],
)

response_stream = client.agents.messages.create_stream(
    agent_id=agent_state.id, messages=[{"role": "user", "content": "What is your agent id?"}]
)
for chunk in response_stream:
    print_message(chunk)


# Custom task queue memory
def task_queue_push(agent_state: "AgentState", task_description: str):  # noqa: F821
    """
    Push to a task queue stored in core memory.

    Args:
        task_description (str): A description of the next task you must accomplish.

    Returns:
        Optional[str]: None is always returned as this function
        does not produce a response.
    """

    import json

    from letta_client import Letta

    client = Letta(base_url="http://localhost:8283")

    block = client.agents.blocks.retrieve(
        agent_id=agent_state.id,
        block_label="tasks",
    )
    tasks = json.loads(block.value)
    tasks.append(task_description)

    # update the block value
    client.agents.blocks.modify(
        agent_id=agent_state.id, value=json.dumps(tasks), block_label="tasks"
    )
    return None


def task_queue_pop(agent_state: "AgentState"):  # noqa: F821
    """
    Get the next task from the task queue

    Returns:
        Optional[str]: Remaining tasks in the queue
    """

    import json

    from letta_client import Letta

    client = Letta(base_url="http://localhost:8283")

    # get the block
    block = client.agents.blocks.retrieve(
        agent_id=agent_state.id,
        block_label="tasks",
    )
    tasks = json.loads(block.value)
    if len(tasks) == 0:
        return None
    task = tasks[0]  # noqa: F841 - as in the notebook

    # update the block value
    remaining_tasks = json.dumps(tasks[1:])
    client.agents.blocks.modify(agent_id=agent_state.id, value=remaining_tasks, block_label="tasks")
    return f"Remaining tasks {remaining_tasks}"


task_queue_pop_tool = client.tools.upsert_from_function(func=task_queue_pop)
task_queue_push_tool = client.tools.upsert_from_function(func=task_queue_push)

task_agent = client.agents.create(
    system=open(HERE / "task_queue_system_prompt.txt").read(),
    memory_blocks=[{"label": "tasks", "value": json.dumps([])}],
    model="openai/gpt-4o-mini-2024-07-18",
    embedding="openai/text-embedding-3-small",
    tool_ids=[task_queue_pop_tool.id, task_queue_push_tool.id],
    include_base_tools=False,
    tools=["send_message"],
)
print([tool.name for tool in task_agent.tools])
print(client.agents.blocks.retrieve(task_agent.id, block_label="tasks").value)

response_stream = client.agents.messages.create_stream(
    agent_id=task_agent.id,
    messages=[
        {
            "role": "user",
            "content": "Add 'start calling me Charles' and "
            + "'tell me a haiku about my name' as two seperate tasks.",
        }
    ],
)
for chunk in response_stream:
    print_message(chunk)
print(client.agents.blocks.retrieve(task_agent.id, block_label="tasks").value)

response_stream = client.agents.messages.create_stream(
    agent_id=task_agent.id, messages=[{"role": "user", "content": "Complete your tasks"}]
)
for chunk in response_stream:
    print_message(chunk)

print(client.agents.blocks.retrieve(block_label="tasks", agent_id=task_agent.id).value)
