"""The client's resources: messages, blocks, passages and context under ``client.agents``.

``client.blocks`` and ``client.tools`` too; each is a thin layer over the live agent and the
store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent._archival import ArchivalMemory, Passage
from agent._context import ContextWindow
from agent._errors import ConfigError, NotFoundError
from agent._history import to_messages
from agent._input import approval_in, check_limit, check_size, user_texts
from agent._memory import Block, Memory
from agent._messages import (
    ApprovalCreate,
    Message,
    Response,
    StopReason,
    Usage,
    UsageStatistics,
    UserMessage,
)
from agent._registry import StoredTool
from agent._text import bad_fields
from toolkit import Tool

if TYPE_CHECKING:
    from agent._client import AsyncClient
    from agent._state import AgentState

__all__ = [
    "AgentBlocks",
    "AgentContext",
    "AgentTools",
    "Blocks",
    "CoreMemory",
    "Messages",
    "Passages",
    "Tools",
]


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
        check_limit("passages.list", limit)
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
        self,
        *,
        agent_id: str,
        messages: Iterable[Mapping[str, Any] | UserMessage | ApprovalCreate],
        stream_tokens: bool = False,
    ) -> AsyncIterator[Message]:
        """Run a turn, yielding each message as it happens, then usage and the stop reason.

        ``stream_tokens=True``: the reply as the model writes it, when the model can stream
        (``OpenAIModel`` can): ``reasoning_message`` chunks and, for each ``send_message``,
        ``assistant_message`` chunks; chunks of one message share its id, and their texts
        concatenate to it. A model that cannot stream gives whole messages. What is saved is
        the same either way.

        ``messages``: dicts ``{"role": "user", "content": ...}`` or ``UserMessage`` objects;
        content is text or a list of text parts. A message that cannot fit in the agent's
        context window beside its system prompt, memory and tools is refused
        (``ConfigError``): save long documents to archival memory instead.

        While a call waits for approval (the last turn stopped with ``requires_approval``),
        send only the answer, ``[{"type": "approval", "approve": True}]`` or ``False`` with a
        ``"reason"``: it resumes that turn. A user message then is a ``ConfigError``.
        """
        approval = approval_in(messages)
        if approval is not None:
            live = self._client.live(agent_id)
            resumed = self._client.engine.resume(live, approval, stream_tokens=stream_tokens)
            async for message in resumed:
                yield message
            return
        text = "\n\n".join(user_texts(messages))
        live = self._client.live(agent_id)
        tokens, window = live.window.counter.count(text), live.window.window
        if tokens > window // 4:  # only a long message can fail to fit: measure the rest then
            parts = self._client.engine.measure(live)
            fixed = parts["total_tokens"] - round(parts["messages_tokens"] * live.window.correction)
            check_size(tokens, window - fixed, window)
        async for message in self._client.engine.turn(live, text, stream_tokens=stream_tokens):
            yield message

    async def create(
        self, *, agent_id: str, messages: Iterable[Mapping[str, Any] | UserMessage | ApprovalCreate]
    ) -> Response:
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

    async def reset(self, agent_id: str) -> AgentState:
        """Start a fresh conversation: the agent's messages leave its context, the summary goes.

        The messages stay stored: ``list`` shows them, and the agent finds them with
        ``conversation_search`` (recall memory). Memory blocks, tools and archival memory are
        untouched. Waits for a running turn of the agent (in any client) to end first, so a
        reset never lands in the middle of a turn; a call waiting for approval is dropped.
        Every client running the agent starts afresh from its next model call.
        """
        client = self._client
        async with client.holding(agent_id):
            with client.store.transaction():
                client.store.reset_messages(agent_id)
        return client.load(agent_id)

    async def list(self, *, agent_id: str, limit: int | None = None) -> list[Message]:
        """The agent's conversation, oldest first (the newest ``limit`` messages)."""
        check_limit("messages.list", limit)
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

    async def attach(self, agent_id: str, *, block_id: str) -> AgentState:
        """Attach a stored block (after the agent's others); attaching it again changes nothing.

        Never waits for a running turn: the turn sees the block from its next request.

        Raises:
            NotFoundError: no such agent or block.
            ConfigError: the agent already has another block with that label.
        """
        store = self._client.store
        with store.transaction():
            block = store.block(block_id)
            if block is None:
                raise NotFoundError(f"no block with id {block_id!r}")
            blocks = self._blocks(agent_id)
            taken = [b for b in blocks if b.label == block.label and b.id != block.id]
            if taken:
                raise ConfigError(
                    f"block {block.label!r}",
                    [f"agent {agent_id!r} already has a block labelled {block.label!r} "
                     f"({taken[0].id}): detach it first"],
                )  # fmt: skip
            if all(b.id != block_id for b in blocks):
                store.add_agent_block(agent_id, block_id)
        return self._client.load(agent_id)

    async def detach(self, agent_id: str, *, block_id: str) -> AgentState:
        """Detach a block from the agent (the block stays stored); a block not attached: no-op.

        Raises:
            NotFoundError: no such agent or block.
        """
        store = self._client.store
        with store.transaction():
            if store.block(block_id) is None:
                raise NotFoundError(f"no block with id {block_id!r}")
            if any(b.id == block_id for b in self._blocks(agent_id)):
                store.remove_agent_block(agent_id, block_id)
        return self._client.load(agent_id)


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

    async def create(
        self,
        *,
        label: str,
        value: str,
        limit: int | None = None,
        description: str | None = None,
        read_only: bool = False,
    ) -> Block:
        """Store a block on its own, to attach to agents (``agents.blocks.attach``).

        Raises:
            ConfigError: the block is invalid (each problem listed).
        """
        fields: dict[str, Any] = {"label": label, "value": value, "read_only": read_only}
        if limit is not None:
            fields["limit"] = limit
        if description is not None:
            fields["description"] = description
        try:
            block = Block(**fields)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"block {label!r}", _problems(e)) from None
        store = self._client.store
        with store.transaction():
            store.save_block(block)
        return block

    async def list(self, *, label: str | None = None) -> list[Block]:
        """Every stored block (with this label, if given), oldest first."""
        return self._client.store.all_blocks(label)

    async def delete(self, block_id: str) -> Block:
        """Delete a block, detaching it from every agent that has it; the block as it was.

        Raises:
            NotFoundError: no such block.
        """
        block = await self.retrieve(block_id)
        self._client.store.delete_block(block_id)
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

    async def delete(self, tool_id: str) -> None:
        """Delete a stored tool; agents that had it lose it (from their next step on).

        Raises:
            NotFoundError: no stored tool has this id.
        """
        if self._client.store.tool(id=tool_id) is None:
            raise NotFoundError(f"no tool with id {tool_id!r}")
        self._client.store.delete_tool(tool_id)


class AgentTools:
    """``client.agents.tools``: an agent's tools."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, agent_id: str) -> list[Tool[..., Any]]:
        """The agent's tools, as stored now."""
        return self._client.load(agent_id).tools

    async def attach(
        self, agent_id: str, *, tool_id: str | None = None, name: str | None = None
    ) -> AgentState:
        """Give the agent a stored tool by id, or a tool by name (a built-in one, say).

        Attaching a tool it has changes nothing. Never waits for a running turn: the turn
        offers the tool from its next request.

        Raises:
            NotFoundError: no such agent or tool.
            ConfigError: the agent has another tool of that name.
        """
        client = self._client
        tool = _tool(client, tool_id, name)
        with client.store.transaction():
            refs = client.row(agent_id).tools
            ref = client.registry.ref(tool)
            same = [r for r in refs if isinstance(r, dict) and r.get("name") == tool.name]
            if same and same[0] != ref:
                problem = (
                    f"agent {agent_id!r} has another tool named {tool.name!r}: detach it first"
                )
                raise ConfigError(f"tool {tool.name!r}", [problem])
            if not same:
                client.store.update_agent(agent_id, tools=[*refs, ref])
        return client.load(agent_id)

    async def detach(
        self, agent_id: str, *, tool_id: str | None = None, name: str | None = None
    ) -> AgentState:
        """Take a tool (by id, or by name) from the agent; a tool it lacks: no change.

        Raises:
            NotFoundError: no such agent or tool.
        """
        client = self._client
        tool = _tool(client, tool_id, name)
        with client.store.transaction():
            refs = client.row(agent_id).tools
            kept = [r for r in refs if not (isinstance(r, dict) and r.get("name") == tool.name)]
            if len(kept) != len(refs):
                client.store.update_agent(agent_id, tools=kept)
        return client.load(agent_id)


def _tool(client: AsyncClient, tool_id: str | None, name: str | None) -> Tool[..., Any]:
    """The tool an id or a name means (exactly one of them given)."""
    if (tool_id is None) == (name is None):
        raise ConfigError("agents.tools", ["pass exactly one of tool_id= and name="])
    if tool_id is not None:
        return client.registry.by_id(tool_id)
    return client.registry.by_name(str(name))


def _problems(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return [f"{'.'.join(map(str, e['loc'])) or 'block'}: {e['msg']}" for e in error.errors()]
    return [str(error)]
