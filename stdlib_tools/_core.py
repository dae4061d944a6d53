"""The core tools: talking to the user and editing core memory blocks.

Each is a plain ``@tool`` function with ``agent_state`` injected, the same code a developer
writes for a custom memory tool. Mistakes a model can make come back as tool errors that say
what to do next. They are ``async def`` only because they never wait on anything: the engine
then runs them on its event loop instead of handing each call to a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit import ToolError, tool

if TYPE_CHECKING:
    from agent import AgentState

__all__ = ["core_memory_append", "core_memory_replace", "send_message"]


@tool
async def send_message(message: str) -> str:
    """Send a message to the user. This is the only way the user sees anything you say.

    Calling it ends your turn: do every other action (memory edits, searches) first.

    Args:
        message: The message, in full, exactly as the user should read it.
    """
    return "Sent message successfully."


def _usage(agent_state: AgentState, label: str) -> str:
    block = agent_state.memory.get_block(label)
    return f"{len(block.value)} of {block.limit} characters used"


def _block(agent_state: AgentState, label: str) -> str:
    if label not in agent_state.memory:
        labels = ", ".join(b.label for b in agent_state.memory) or "none"
        raise ToolError(f"There is no memory block {label!r}. Blocks: {labels}.")
    return agent_state.memory.get_block(label).value


@tool
async def core_memory_append(agent_state: AgentState, label: str, content: str) -> str:
    """Add a new line to a core memory block, the memory you always see in your prompt.

    Use it for lasting facts about the user or yourself that should shape every reply.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        label: The block to add to, e.g. "human" or "persona".
        content: The text to add, as a complete sentence.
    """
    current = _block(agent_state, label)
    agent_state.memory.update_block_value(label, f"{current}\n{content}" if current else content)
    return f"Appended to {label!r} ({_usage(agent_state, label)})."


@tool
async def core_memory_replace(
    agent_state: AgentState, label: str, old_content: str, new_content: str
) -> str:
    """Replace exact text in a core memory block (to correct or delete a fact).

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        label: The block to edit, e.g. "human".
        old_content: Text that occurs exactly once in the block, copied exactly.
        new_content: The replacement; an empty string deletes old_content.
    """
    current = _block(agent_state, label)
    if not old_content:
        raise ToolError("old_content is empty; copy the exact text to replace from the block.")
    count = current.count(old_content)
    if count == 0:
        raise ToolError(
            f"old_content was not found in {label!r} ({_usage(agent_state, label)}). "
            f"The block currently reads:\n{current}"
        )
    if count > 1:
        raise ToolError(
            f"old_content occurs {count} times in {label!r}; "
            "include more surrounding text so it matches exactly once."
        )
    agent_state.memory.update_block_value(label, current.replace(old_content, new_content))
    return f"Replaced in {label!r} ({_usage(agent_state, label)})."
