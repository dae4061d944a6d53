"""``AsyncClient``: agents, their messages, blocks and tools, shaped like Letta's client."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import stdlib_tools
from agent._archival import ArchivalMemory
from agent._context import ContextConfig, ContextState
from agent._embedding import EmbeddingModel, resolve_embedding
from agent._engine import Engine, LiveAgent
from agent._errors import ConfigError, ModelError, NotFoundError
from agent._history import well_formed
from agent._memory import Block, Memory
from agent._model import Model, ModelRequest, ModelResponse
from agent._openai import resolve_model
from agent._recall import RecallMemory
from agent._registry import ToolRegistry
from agent._resources import (
    AgentBlocks,
    AgentContext,
    Blocks,
    CoreMemory,
    Messages,
    Passages,
    Tools,
)
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
