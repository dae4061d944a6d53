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
    return texts


class Passages:
    """``client.agents.passages``: an agent's archival memory."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _archival(self, agent_id: str) -> ArchivalMemory:
        archival = self._client.live(agent_id).state.archival
        assert archival is not None  # attach() always sets it
        return archival

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
        self._client.live(agent_id)
        records = self._client.store.messages(agent_id, limit=limit, skip_receipts=True)
        messages = to_messages(records)  # each record gives one message or more
        return messages if limit is None else messages[-limit:] if limit else []


class AgentBlocks:
    """``client.agents.blocks``: an agent's core memory blocks, by label."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, agent_id: str) -> list[Block]:
        """Copies of the agent's blocks."""
        return [b.model_copy() for b in self._client.live(agent_id).state.memory]

    async def retrieve(self, agent_id: str, *, block_label: str) -> Block:
        """A copy of one block."""
        return self._client.live(agent_id).state.memory.get_block(block_label).model_copy()

    async def modify(
        self,
        agent_id: str,
        *,
        block_label: str,
        value: str | None = None,
        limit: int | None = None,
        description: str | None = None,
    ) -> Block:
        """Change a block as the developer (read-only blocks too); the limit still holds."""
        live = self._client.live(agent_id)
        async with live.lock:
            block = live.state.memory.get_block(block_label)
            if limit is not None:
                if len(value if value is not None else block.value) > limit:
                    raise ConfigError(
                        f"block {block_label!r}", [f"value is longer than limit {limit}"]
                    )
                block.limit = limit
            if value is not None:
                block.set_value(value, force=True)
            if description is not None:
                block.description = description
            with self._client.store.transaction():
                self._client.store.save_block(block)
        return block.model_copy()


class CoreMemory:
    """``client.agents.core_memory``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def retrieve(self, agent_id: str) -> Memory:
        """A copy of the agent's core memory (``.prompt_template``, ``.compile()``)."""
        return Memory(b.model_copy() for b in self._client.live(agent_id).state.memory)


class Blocks:
    """``client.blocks``: blocks by id."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def retrieve(self, block_id: str) -> Block:
        """A copy of the block with this id."""
        block = self._client._blocks.get(block_id) or self._client.store.block(block_id)
        if block is None:
            raise NotFoundError(f"no block with id {block_id!r}")
        return block.model_copy()


class Tools:
    """``client.tools``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upsert_from_function(self, *, func: Callable[..., Any]) -> StoredTool:
        """Register a function (or ``Tool``) as a tool; upserting the same name keeps its id.

        Agents already loaded that use the tool switch to the new version at once.
        """
        stored = self._client.registry.upsert(func)
        fresh = self._client.registry.by_id(stored.id)
        for live in self._client._live.values():
            tools = live.state.tools
            tools[:] = [fresh if t.name == stored.name else t for t in tools]
        return stored

    async def list(self) -> list[StoredTool]:
        """Every registered tool."""
        return self._client.registry.list()
