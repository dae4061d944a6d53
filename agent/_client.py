"""``AsyncClient``: agents, their messages, blocks and tools, shaped like Letta's client."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from agent._agents import Agents
from agent._archival import ArchivalMemory
from agent._commits import GroupCommit
from agent._context import ContextState
from agent._embedding import EmbeddingModel, resolve_embedding
from agent._engine import Engine
from agent._errors import ConfigError, ModelError, NotFoundError
from agent._history import well_formed
from agent._lease import LeaseConfig, Leases
from agent._live import LiveAgent, Resolver, apply_row
from agent._mcp_servers import McpServers
from agent._memory import Block, Memory
from agent._model import Model, ModelRequest, ModelResponse
from agent._openai import resolve_model
from agent._recall import RecallMemory
from agent._registry import ToolRegistry
from agent._resources import (
    Blocks,
    Tools,
)
from agent._sandbox import Sandbox
from agent._state import AgentState
from agent._tokens import counter_for, window_for
from agent.store import AgentRow, open_store

__all__ = ["AsyncClient"]

logger = logging.getLogger("selfedit.client")


class AsyncClient:
    """The async client: ``await client.agents.messages.create(agent_id=..., messages=[...])``.

    Args:
        path: the database: a SQLite file, ``":memory:"`` (everything in memory), or a
            PostgreSQL URL (``"postgresql://user:password@host/db"``, the ``postgres`` extra).
            By default ``$SELFEDIT_DATABASE_URL``, else ``~/.selfedit/selfedit.db`` (the
            folder ``$SELFEDIT_HOME`` names, when set).
        model: a ``Model`` used for every agent of this client, whatever model it was created
            with (a test double, or a model object for agents reopened from the database).
        embedding: an ``EmbeddingModel`` used for every agent that has an embedding model
            configured (by default, the one its ``embedding`` string names).
        summarizer: the model that writes the recursive summary of evicted messages (by
            default, each agent's own model).
        lease_ttl: seconds a turn's lease on its agent lives without renewal (a running turn
            renews it); a turn whose process died is taken over after this, or at once when
            the process was on this host.
        lease_wait: seconds a turn waits for another client's turn of the same agent before
            raising ``AgentBusyError``.
        sandbox: run every self-contained source-only tool in a separate process with these
            settings (see ``Sandbox``); by default only tools upserted with ``sandbox=True``.

    Any number of clients, in any number of processes, may share one database: it is the
    single source of truth, and what a client holds in memory is a cache (docs/agents.md).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        model: Model | None = None,
        embedding: EmbeddingModel | None = None,
        summarizer: Model | None = None,
        lease_ttl: float = 30.0,
        lease_wait: float = 300.0,
        sandbox: Sandbox | None = None,
    ) -> None:
        problems = [
            f"{name} must be a positive number of seconds, got {value!r}"
            for name, value in (("lease_ttl", lease_ttl), ("lease_wait", lease_wait))
            if not isinstance(value, int | float) or value != value or value < 0
            or (name == "lease_ttl" and value == 0)
        ]  # fmt: skip
        if problems:
            raise ConfigError("AsyncClient", problems)
        self.store = open_store(path)
        self.registry = ToolRegistry(self.store, sandbox=sandbox)
        commits = GroupCommit(self.store)
        self.leases = Leases(self.store, commits, LeaseConfig(ttl=lease_ttl, wait=lease_wait))
        self.engine = Engine(self.store, self.registry, self.leases, summarizer)
        self.model = model
        self.embedding = embedding
        self._live: dict[str, LiveAgent] = {}
        self._archives: dict[str, tuple[ArchivalMemory, str | None]] = {}
        self._models: dict[str, Model] = {}
        self._embeddings: dict[str, EmbeddingModel] = {}
        self._resolver = Resolver(
            self._model_for, self._window, lambda state: self.archival(state.id, state.embedding)
        )
        self.agents = Agents(self)
        self.blocks = Blocks(self)
        self.tools = Tools(self)
        self.mcp_servers = McpServers(self)

    def close(self) -> None:
        """Close the database, giving back any turn lease this client still holds.

        Connections to MCP servers close too: at once outside their event loop, at its next
        turn inside it (``await client.mcp_servers.disconnect()`` waits for them).
        """
        self.registry.mcp.close()
        self.leases.give_back_all()
        self.store.close()

    async def aclose(self) -> None:
        """``close``, after waiting for MCP servers' connections to close on this event loop.

        ``close`` only asks them to. The database's connections (on PostgreSQL, the async ones
        too) close at once either way.
        """
        await self.mcp_servers.disconnect()
        self.close()

    # -- loading -------------------------------------------------------------------------

    def row(self, agent_id: str) -> AgentRow:
        """The agent's stored row.

        Raises:
            NotFoundError: there is no such agent.
        """
        row = self.store.agent(agent_id)
        if row is None:
            raise NotFoundError(f"no agent with id {agent_id!r}")
        return row

    def load(self, agent_id: str) -> AgentState:
        """The agent as stored now (a fresh copy: changing it changes nothing stored)."""
        row = self.row(agent_id)
        return self._state(row, self.store.agent_blocks(agent_id))

    def _state(self, row: AgentRow, blocks: list[Block]) -> AgentState:
        """An ``AgentState`` from a row; its tools are resolved without running stored code."""
        state = AgentState(
            name=row.name,
            system=row.system,
            memory=Memory(blocks),
            tools=self.registry.resolve_all(row.tools),
            model=row.model,
            embedding=row.embedding,
            id=row.id,
            created_at=row.created_at,
        )
        apply_row(state, row)
        return self._attach(state)

    def live(self, agent_id: str) -> LiveAgent:
        """The running form of an agent: loaded once per client, refreshed by every step."""
        live = self._live.get(agent_id)
        if live is not None:
            return live
        versions = self.store.versions(agent_id)  # first: what is read after is at least as new
        row = self.row(agent_id)
        if versions is None:
            raise NotFoundError(f"no agent with id {agent_id!r}")
        blocks = self.store.versioned_blocks(agent_id)
        state = self._state(row, [])
        context = well_formed(self.store.messages(agent_id, in_context=True), keep_pending=True)
        window = self._window(state)
        window.summary, window.summarized = row.summary, row.summarized
        window.summary_error = row.summary_error
        live = LiveAgent(state, context, self._model_for(state), window, resolver=self._resolver)
        live.adopt(blocks)
        live.known.agent, live.known.history = versions.agent, versions.history
        live.known.tools = versions.tools
        self._live[agent_id] = live
        return live

    @contextlib.asynccontextmanager
    async def holding(self, agent_id: str) -> AsyncIterator[None]:
        """Hold the agent as a turn does: no turn of it runs, in any client, until the body ends.

        Raises:
            NotFoundError: there is no such agent.
            AgentBusyError: a running turn did not end within ``lease_wait``.
        """
        self.row(agent_id)
        live = self._live.get(agent_id)
        async with contextlib.AsyncExitStack() as stack:
            if live is not None:
                await stack.enter_async_context(live.lock)
            await stack.enter_async_context(self.leases.hold(agent_id))
            yield

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

    def _attach(self, state: AgentState) -> AgentState:
        """Give an agent's state its archival and recall memory."""
        state.archival = self.archival(state.id, state.embedding)
        state.recall = RecallMemory(self.store, state.id)
        return state

    def archival(self, agent_id: str, embedding: str | None) -> ArchivalMemory:
        """The agent's archival memory: one per client, so its vector index is loaded once.

        Its embedder follows ``embedding``, the agent's embedding model as stored now.
        """
        found = self._archives.get(agent_id)
        if found is None:
            embedder = self._embedding_for(agent_id, embedding)
            archival = ArchivalMemory(self.store, agent_id, embedder)
        elif found[1] != embedding:  # changed by agents.modify (here or in another client)
            archival = found[0]
            archival.embedder = self._embedding_for(agent_id, embedding)
        else:
            return found[0]
        self._archives[agent_id] = (archival, embedding)
        return archival

    def _embedding_for(self, agent_id: str, embedding: str | None) -> EmbeddingModel | None:
        if not embedding:
            return None
        given = self._embeddings.get(agent_id)
        found = self.embedding or (given if given is not None and given.name == embedding else None)
        try:
            return found or resolve_embedding(embedding)
        except ModelError:  # an unknown embedding: archival search falls back to BM25
            return None

    def _model_for(self, state: AgentState) -> Model:
        """The model an agent's turns call, as the agent is now.

        The client's override; or the object the agent was given in this client, while its
        name is still the agent's model; or the model its name says.
        """
        if self.model is not None:
            return self.model
        given = self._models.get(state.id)
        if given is not None and given.name == state.model:
            return given
        try:
            return resolve_model(state.model)
        except ModelError as e:  # stored by another program: fail its turns, not the listing
            return _Unavailable(state.model, str(e))

    def check_models(
        self, model: str | Model | None, embedding: str | EmbeddingModel | None
    ) -> list[str]:
        """Problems with the model and embedding names an agent is given (``None``: none)."""
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
