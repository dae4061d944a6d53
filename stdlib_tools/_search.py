"""Archival memory and conversation search: the agent's long-term stores beyond core memory.

Archival memory is a library the agent writes to on purpose (facts, documents); conversation
search looks through everything said so far, including messages no longer in view.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from toolkit import ToolError, tool

if TYPE_CHECKING:
    from agent import AgentState
    from agent._archival import ArchivalMemory
    from agent._recall import RecallMemory

__all__ = ["archival_memory_insert", "archival_memory_search", "conversation_search"]


def _archival(agent_state: AgentState) -> ArchivalMemory:
    if agent_state.archival is None:
        raise ToolError("Archival memory is not available to this agent.")
    return agent_state.archival


def _recall(agent_state: AgentState) -> RecallMemory:
    if agent_state.recall is None:
        raise ToolError("Conversation search is not available to this agent.")
    return agent_state.recall


@tool
async def archival_memory_insert(
    agent_state: AgentState, content: str, tags: list[str] | None = None
) -> str:
    """Save a fact or document to archival memory, your long-term library.

    Use it for things worth keeping that need not be in view all the time (unlike core
    memory, which you always see). Saved text is found later with archival_memory_search.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        content: The text to save, self-contained: it will be read without this conversation.
        tags: Optional labels to filter by later, e.g. ["pets", "family"].
    """
    if not content.strip():
        raise ToolError("content is empty; give the text to save.")
    passage = await _archival(agent_state).insert(content, tags)
    if passage.duplicate:
        return f"Already in archival memory (passage {passage.id}); nothing new was saved."
    return f"Saved to archival memory (passage {passage.id})."


@tool
async def archival_memory_search(
    agent_state: AgentState, query: str, page: int = 0, tags: list[str] | None = None
) -> str:
    """Search archival memory, the library you saved facts and documents to.

    Not for recalling what was said in this conversation: use conversation_search for that.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        query: Words or a question describing what you are looking for.
        page: Which page of results, from 0; the results say how many pages there are.
        tags: Only passages saved with any of these tags.
    """
    found = await _archival(agent_state).search(query, page=page, tags=tags)
    if not found.total:
        return f"No archival memory matches {query!r}."
    lines = [f"Archival search for {query!r}: {found.summary()}"]
    if not found.results:
        return lines[0] + f". There is no page {page}; pages run from 0 to {found.pages - 1}."
    for p in found.results:
        labels = f" [tags: {', '.join(p.tags)}]" if p.tags else ""
        lines.append(f"- ({p.created_at:%Y-%m-%d}){labels} {p.text}")
    if found.page + 1 < found.pages:
        lines.append(f"More results: call again with page={found.page + 1}.")
    return "\n".join(lines)


@tool
async def conversation_search(
    agent_state: AgentState,
    query: str,
    page: int = 0,
    start_date: date | None = None,
    end_date: date | None = None,
) -> str:
    """Search everything said in this conversation, including messages no longer in view.

    Not for facts you saved on purpose: use archival_memory_search for those.

    Args:
        agent_state: The agent's state (injected; the model never sees it).
        query: Words to look for.
        page: Which page of results, from 0; the results say how many pages there are.
        start_date: Only messages on or after this day (YYYY-MM-DD).
        end_date: Only messages on or before this day (YYYY-MM-DD).
    """
    found = await _recall(agent_state).search(
        query, page=page, start_date=start_date, end_date=end_date
    )
    if not found.total:
        return f"No messages match {query!r}."
    lines = [f"Conversation search for {query!r}: {found.summary()}"]
    for m in found.results:
        text = (
            getattr(m, "content", None)
            or getattr(m, "reasoning", None)
            or getattr(m, "tool_return", "")
        )
        lines.append(f"- ({m.date:%Y-%m-%d %H:%M}, {m.message_type}) {text}")
    if found.page + 1 < found.pages:
        lines.append(f"More results: call again with page={found.page + 1}.")
    return "\n".join(lines)
