"""``AsyncClient``: agents, their messages, blocks and tools, shaped like Letta's client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import stdlib_tools
from agent._archival import ArchivalMemory, Passage
from agent._context import ContextConfig, ContextState, ContextWindow
from agent._embedding import EmbeddingModel, resolve_embedding
from agent._engine import Engine, LiveAgent
from agent._errors import ConfigError, ModelError, NotFoundError
from agent._history import to_messages, well_formed
from agent._memory import Block, Memory
from agent._messages import Message, Response, StopReason, Usage, UsageStatistics
from agent._model import Model, ModelRequest, ModelResponse
from agent._openai import resolve_model
from agent._recall import RecallMemory
from agent._registry import StoredTool, ToolRegistry
from agent._state import DEFAULT_SYSTEM, AgentState
from agent._store import AgentRow, Store, default_path
from agent._tokens import counter_for, window_for
from toolkit import SchemaError, Tool

__all__ = ["AsyncClient"]

logger = logging.getLogger("selfedit.client")

BlockSpec = Block | Mapping[str, Any]


class AsyncClient:
    """The async client: ``await client.agents.messages.create(agent_id=..., messages=[...])``.

    Args:
        path: the SQLite file (default ``~/.selfedit/selfedit.db``, or ``$SELFEDIT_HOME``);
            ``":memory:"`` keeps everything in memory.
        model: a ``Model`` used for every agent of this client, whatever model it was created
            with (a test double, or a model object for agents reopened from the database).
        embedding: an ``EmbeddingModel`` used for every agent that has an embedding model
            configured (by default, the one its ``embedding`` string names).
        summarizer: the model that writes the recursive summary of evicted messages (by
            default, each agent's own model).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        model: Model | None = None,
        embedding: EmbeddingModel | None = None,
        summarizer: Model | None = None,
    ) -> None:
        self.store = Store(default_path() if path is None else path)
        self.engine = Engine(self.store, summarizer)
        self.registry = ToolRegistry(self.store)
        self.model = model
        self.embedding = embedding
        self._live: dict[str, LiveAgent] = {}
        self._blocks: dict[str, Block] = {}  # one object per block id: shared blocks stay shared
        self._models: dict[str, Model] = {}
        self._embeddings: dict[str, EmbeddingModel] = {}
        self.agents = Agents(self)
        self.blocks = Blocks(self)
        self.tools = Tools(self)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    # -- loading -------------------------------------------------------------------------

    def shared(self, block: Block) -> Block:
        """The one live object for ``block.id``."""
        return self._blocks.setdefault(block.id, block)

    def live(self, agent_id: str) -> LiveAgent:
        """The running form of an agent, loaded once per client."""
        if agent_id in self._live:
            return self._live[agent_id]
        row = self.store.agent(agent_id)
        if row is None:
            raise NotFoundError(f"no agent with id {agent_id!r}")
        state = AgentState(
            name=row.name,
            system=row.system,
            memory=Memory(self.shared(b) for b in self.store.agent_blocks(agent_id)),
            tools=[self.registry.resolve(ref) for ref in row.tools],
            model=row.model,
            embedding=row.embedding,
            max_steps=row.max_steps,
            context_window_limit=row.settings.get("context_window_limit"),
            context=ContextConfig(**row.settings.get("context", {})),
            id=row.id,
            created_at=row.created_at,
        )
        context = well_formed(self.store.messages(agent_id, in_context=True))
        window = self._window(state)
        window.summary, window.summarized = row.summary, row.summarized
        window.summary_error = row.summary_error
        return self.attach(LiveAgent(state, context, self._model_for(state), window))

    def _window(self, state: AgentState) -> ContextState:
        """The context bookkeeping for an agent: its window size and token counter."""
        size, known = window_for(state.model)
        if state.context_window_limit:
            size, known = state.context_window_limit, True
        elif not known:
            logger.warning(
                "model %r: unknown context window; assuming %d tokens (pass "
                "context_window_limit= to agents.create)",
                state.model,
                size,
            )
        return ContextState(size, known, counter_for(state.model), state.context)

    def attach(self, live: LiveAgent) -> LiveAgent:
        """Give a loaded agent its archival and recall memory, and keep it."""
        state = live.state
        state.archival = ArchivalMemory(self.store, state.id, self._embedding_for(state))
        state.recall = RecallMemory(self.store, state.id)
        self._live[state.id] = live
        return live

    def _embedding_for(self, state: AgentState) -> EmbeddingModel | None:
        if not state.embedding:
            return None
        found = self.embedding or self._embeddings.get(state.id)
        try:
            return found or resolve_embedding(state.embedding)
        except ModelError:  # an unknown embedding: archival search falls back to BM25
            return None

    def _model_for(self, state: AgentState) -> Model:
        if self.model is not None:
            return self.model
        try:
            return self._models.get(state.id) or resolve_model(state.model)
        except ModelError as e:  # stored by another program: fail its turns, not the listing
            return _Unavailable(state.model, str(e))

    def check_models(self, model: str | Model, embedding: str | EmbeddingModel | None) -> list[str]:
        """Problems with the model and embedding names an agent is created with."""
        problems = []
        if isinstance(model, str) and self.model is None:
            try:
                resolve_model(model)
            except ModelError as e:
                problems.append(str(e))
        if isinstance(embedding, str) and self.embedding is None:
            try:
                resolve_embedding(embedding)
            except ModelError as e:
                problems.append(str(e))
        return problems


class _Unavailable:
    """Stands in for a model that cannot be made: every call fails, saying why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise ModelError(self._reason)


def _block(spec: BlockSpec) -> Block:
    """A new Block from a dict, or a copy of a Block (the caller's object stays theirs)."""
    return spec.model_copy() if isinstance(spec, Block) else Block(**dict(spec))


def _block_problems(index: int, spec: BlockSpec, error: Exception) -> list[str]:
    """One line per problem with a memory block (not pydantic's multi-line report)."""
    label = spec.get("label") if isinstance(spec, Mapping) else None
    where = f"memory block {index}" + (f" ({label!r})" if label else "")
    if not isinstance(error, ValidationError):
        return [f"{where}: {error}"]
    return [
        f"{where}: {'.'.join(map(str, e['loc'])) or 'block'}: {e['msg']}" for e in error.errors()
    ]


class Agents:
    """``client.agents``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self.passages = Passages(client)
        self.messages = Messages(client)
        self.context = AgentContext(client)
        self.blocks = AgentBlocks(client)
        self.core_memory = CoreMemory(client)

    def _tools(
        self, tools: Iterable[str], tool_ids: Iterable[str], include_base_tools: bool
    ) -> tuple[list[Tool[..., Any]], list[str]]:
        registry, problems = self._client.registry, []
        chosen: list[Tool[..., Any]] = list(stdlib_tools.BASE_TOOLS) if include_base_tools else []
        for lookup, keys in ((registry.by_name, tools), (registry.by_id, tool_ids)):
            for key in keys:
                try:
                    chosen.append(lookup(key))
                except (NotFoundError, SchemaError) as e:
                    problems.append(str(e))
        unique: dict[str, Tool[..., Any]] = {}
        for t in chosen:
            if unique.setdefault(t.name, t) is not t:
                problems.append(f"two different tools are named {t.name!r}")
        return list(unique.values()), problems

    async def create(
        self,
        *,
        name: str | None = None,
        memory_blocks: Iterable[BlockSpec] = (),
        model: str | Model = "openai/gpt-4o-mini",
        embedding: str | EmbeddingModel | None = None,
        system: str | None = None,
        tools: Iterable[str] = (),
        tool_ids: Iterable[str] = (),
        include_base_tools: bool = True,
        max_steps: int | None = None,
        context_window_limit: int | None = None,
        context: ContextConfig | Mapping[str, float] | None = None,
    ) -> AgentState:
        """Create an agent; every configuration problem is reported in one ``ConfigError``.

        ``context_window_limit`` overrides the model's known window (tokens); ``context``
        sets when messages are evicted and the model warned (see ``ContextConfig``).
        """
        problems: list[str] = []
        blocks: list[Block] = []
        for index, spec in enumerate(memory_blocks):
            try:
                blocks.append(_block(spec))
            except (ValueError, TypeError) as e:
                problems += _block_problems(index, spec, e)
        labels = [b.label for b in blocks]
        problems += [
            f"two memory blocks are labelled {x!r}"
            for x in sorted({x for x in labels if labels.count(x) > 1})
        ]
        chosen, tool_problems = self._tools(tools, tool_ids, include_base_tools)
        problems += tool_problems
        problems += self._client.check_models(model, embedding)
        if max_steps is not None and max_steps < 1:
            problems.append(f"max_steps must be at least 1, got {max_steps}")
        if context_window_limit is not None and context_window_limit < 256:
            problems.append(
                f"context_window_limit must be at least 256, got {context_window_limit}"
            )
        config = ContextConfig()
        try:
            config = (
                context if isinstance(context, ContextConfig) else ContextConfig(**(context or {}))
            )
        except ValidationError as e:
            problems += [f"context: {'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()]
        if config.evict_to >= config.evict_at:
            problems.append("context: evict_to must be below evict_at")
        if problems:
            raise ConfigError("agents.create", problems)
        state = AgentState(
            name=name or "agent",
            system=system or DEFAULT_SYSTEM,
            memory=Memory(self._client.shared(b) for b in blocks),
            tools=chosen,
            model=model if isinstance(model, str) else model.name,
            embedding=embedding if isinstance(embedding, str | None) else embedding.name,
            max_steps=max_steps or 20,
            context_window_limit=context_window_limit,
            context=config,
        )
        if not isinstance(model, str):
            self._client._models[state.id] = model
        if embedding is not None and not isinstance(embedding, str):
            self._client._embeddings[state.id] = embedding
        store = self._client.store
        with store.transaction():
            store.save_agent(_row(state, [self._client.registry.ref(t) for t in chosen]))
            store.attach_blocks(state.id, state.memory.blocks)
        live = LiveAgent(state, [], self._client._model_for(state), self._client._window(state))
        self._client.attach(live)
        return state

    async def list(self) -> list[AgentState]:
        """Every agent."""
        return [self._client.live(row.id).state for row in self._client.store.agents()]

    async def retrieve(self, agent_id: str) -> AgentState:
        """One agent."""
        return self._client.live(agent_id).state

    async def delete(self, agent_id: str) -> None:
        """Delete an agent with its messages (and the blocks no other agent shares)."""
        live = self._client.live(agent_id)
        async with live.lock:
            self._client.store.delete_agent(agent_id)
            self._client._live.pop(agent_id, None)
            for block in live.state.memory:
                if self._client.store.block(block.id) is None:
                    self._client._blocks.pop(block.id, None)


def _row(state: AgentState, tools: list[dict[str, str | None]]) -> AgentRow:
    settings = {
        "context_window_limit": state.context_window_limit,
        "context": state.context.model_dump(),
    }
    return AgentRow(
        state.id, state.name, state.system, state.model, state.embedding, state.max_steps,
        state.created_at, tools, settings,
    )  # fmt: skip


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
