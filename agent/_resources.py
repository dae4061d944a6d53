"""The client's resources: messages, blocks, passages and context under ``client.agents``.

``client.blocks`` and ``client.tools`` too; each is a thin layer over the live agent and the
store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from agent._archival import ArchivalMemory, Passage
from agent._context import ContextWindow
from agent._errors import ConfigError, NotFoundError
from agent._history import to_messages
from agent._memory import Block, Memory
from agent._messages import Message, Response, StopReason, Usage, UsageStatistics
from agent._registry import StoredTool
from agent._text import bad_fields

if TYPE_CHECKING:
    from agent._client import AsyncClient

__all__ = ["AgentBlocks", "AgentContext", "Blocks", "CoreMemory", "Messages", "Passages", "Tools"]


def _texts(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    texts = []
    for m in messages:
        content = m.get("content", "")
        if isinstance(content, list):  # OpenAI-style content parts
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        if m.get("role", "user") != "user":
            raise ConfigError(
                "messages.create", [f"role {m.get('role')!r}: only 'user' is accepted"]
            )
        texts.append(str(content))
    if not texts:
        raise ConfigError("messages.create", ["no messages given"])
    problems = bad_fields((f"messages[{i}].content", t) for i, t in enumerate(texts))
    if problems:
        raise ConfigError("messages.create", problems)
    return texts


class Passages:
    """``client.agents.passages``: an agent's archival memory."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _archival(self, agent_id: str) -> ArchivalMemory:
        return self._client.archival(agent_id, self._client.row(agent_id).embedding)

    async def list(
        self, *, agent_id: str, query: str | None = None, limit: int = 100
    ) -> list[Passage]:
        """Passages, oldest first; with ``query``, the best ``limit`` matches, best first."""
        archival = self._archival(agent_id)
        if query:
            return (await archival.search(query, page_size=limit)).results
        return archival.passages(limit)

    async def create(
        self, *, agent_id: str, text: str, tags: Iterable[str] | None = None
    ) -> Passage:
        """Save a passage (an exact duplicate is not stored again: ``duplicate=True``)."""
        problems = bad_fields([("text", text), *(("tag", t) for t in tags or ())])
        if problems:
            raise ConfigError("passages.create", problems)
        return await self._archival(agent_id).insert(text, tags)

    async def delete(self, *, agent_id: str, passage_id: str) -> None:
        """Delete a passage."""
        self._archival(agent_id).delete(passage_id)


class AgentContext:
    """``client.agents.context``: where an agent's context window goes."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def retrieve(self, agent_id: str) -> ContextWindow:
        """Tokens per component, the window, the summary, messages in context and in recall."""
        live = self._client.live(agent_id)
        if not live.lock.locked():  # between turns of this client: bring it up to date
            live.refresh(self._client.store, self._client.registry)
        window = live.window
        measure = self._client.engine.measure(live)
        return ContextWindow(
            context_window_limit=window.window,
            window_known=window.window_known,
            counter=window.counter.name,
            correction=window.correction,
            **measure,
            summary=window.summary,
            summarized_messages=window.summarized,
            messages_in_context=len(live.context),
            messages_in_recall=self._client.store.count_messages(agent_id),
            last_summary_error=window.summary_error,
        )


class Messages:
    """``client.agents.messages``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create_stream(
        self, *, agent_id: str, messages: Iterable[Mapping[str, Any]]
    ) -> AsyncIterator[Message]:
        """Run a turn, yielding each message as it happens, then usage and the stop reason."""
        texts = _texts(messages)
        live = self._client.live(agent_id)
        async for message in self._client.engine.turn(live, "\n\n".join(texts)):
            yield message

    async def create(self, *, agent_id: str, messages: Iterable[Mapping[str, Any]]) -> Response:
        """Run a turn and return what happened."""
        out: list[Message] = []
        usage, stop = Usage(), StopReason(stop_reason="error").stop_reason
        async for m in self.create_stream(agent_id=agent_id, messages=messages):
            if isinstance(m, UsageStatistics):
                usage = Usage(**m.model_dump(include=set(Usage.model_fields)))
            elif isinstance(m, StopReason):
                stop = m.stop_reason
            else:
                out.append(m)
        return Response(messages=out, usage=usage, stop_reason=stop)

    async def list(self, *, agent_id: str, limit: int | None = None) -> list[Message]:
        """The agent's conversation, oldest first (the newest ``limit`` messages)."""
        self._client.row(agent_id)
        records = self._client.store.messages(agent_id, limit=limit, skip_receipts=True)
        messages = to_messages(records)  # each record gives one message or more
        return messages if limit is None else messages[-limit:] if limit else []


class AgentBlocks:
    """``client.agents.blocks``: an agent's core memory blocks, by label.

    Reads and writes go straight to the database and never wait for a running turn: a tool
    may edit its own agent's blocks this way, and the turn sees the edit in its next request.
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _blocks(self, agent_id: str) -> list[Block]:
        self._client.row(agent_id)
        return self._client.store.agent_blocks(agent_id)

    async def list(self, agent_id: str) -> list[Block]:
        """The agent's blocks, as stored now."""
        return self._blocks(agent_id)

    async def retrieve(self, agent_id: str, *, block_label: str) -> Block:
        """One block, as stored now."""
        return Memory(self._blocks(agent_id)).get_block(block_label)

    async def modify(
        self,
        agent_id: str,
        *,
        block_label: str,
        value: str | None = None,
        limit: int | None = None,
        description: str | None = None,
    ) -> Block:
        """Change a block as the developer (read-only blocks too); the limit still holds.

        The change is one atomic read-modify-write in the database: it never waits for a
        running turn, and a turn never writes back over it.
        """
        problems = bad_fields([("value", value), ("description", description)])
        if problems:
            raise ConfigError(f"block {block_label!r}", problems)
        store = self._client.store
        with store.transaction():
            block = Memory(self._blocks(agent_id)).get_block(block_label)
            block = block.edited(value=value, limit=limit, description=description)
            store.save_block(block)
        return block


class CoreMemory:
    """``client.agents.core_memory``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def retrieve(self, agent_id: str) -> Memory:
        """The agent's core memory as stored now (``.prompt_template``, ``.compile()``)."""
        self._client.row(agent_id)
        return Memory(self._client.store.agent_blocks(agent_id))


class Blocks:
    """``client.blocks``: blocks by id."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def retrieve(self, block_id: str) -> Block:
        """The block with this id, as stored now."""
        block = self._client.store.block(block_id)
        if block is None:
            raise NotFoundError(f"no block with id {block_id!r}")
        return block


class Tools:
    """``client.tools``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upsert_from_function(
        self, *, func: Callable[..., Any], override: bool = False, sandbox: bool = False
    ) -> StoredTool:
        """Register a function (or ``Tool``) as a tool; upserting the same name keeps its id.

        An importable function is stored by reference (``module:qualname``), anything else by
        its source, which must then be self-contained (imports inside the function). Agents
        already loaded that use the tool switch to the new version at once.

        Args:
            func: the function, or a ``Tool`` (its ``@tool`` options are stored too).
            override: allow the name of a built-in tool (``send_message``, ...): every agent
                that uses that name then gets this tool.
            sandbox: run each call in a separate process (the tool is stored by source).
        """
        registry = self._client.registry
        stored = registry.upsert(func, override=override, sandbox=sandbox)
        fresh = registry.by_id(stored.id)
        for live in self._client._live.values():
            tools = live.state.tools
            tools[:] = [fresh if self._replaced(t, stored) else t for t in tools]
        return stored

    @staticmethod
    def _replaced(tool: object, stored: StoredTool) -> bool:
        """Whether an upsert of ``stored`` replaces ``tool`` in a loaded agent."""
        same_row = getattr(tool, "id", None) == stored.id
        return same_row or (stored.override and getattr(tool, "name", None) == stored.name)

    async def list(self) -> list[StoredTool]:
        """Every registered tool."""
        return self._client.registry.list()
