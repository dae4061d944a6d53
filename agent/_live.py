"""An agent loaded for running, and how it stays fresh: the database is the truth, this a cache.

A ``LiveAgent`` remembers the version of everything it loaded (its row and history, each
block, the tools). Before every model call the engine asks the store for the current
versions in one query and reloads only what changed; block writes compare and set on the
versions remembered here, and an edit that lost a race is re-applied to the fresh value
(``merge``) or refused, never written over it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent._archival import ArchivalMemory
from agent._context import ContextConfig, ContextState
from agent._errors import NotFoundError
from agent._history import Record, is_well_formed, well_formed
from agent._memory import Block
from agent._model import Model
from agent._rebase import rebase
from agent._registry import ToolRegistry
from agent._rules import load_rules
from agent._state import AgentState
from agent.store import AgentRow, Store, Versions
from toolkit import ToolSet

__all__ = ["Fields", "Known", "LiveAgent", "Resolver", "apply_row", "fields", "merge"]

Fields = dict[str, Any]


@dataclass
class Known:
    """What a client last saw in the database, by version."""

    agent: int = 0
    """The agent row's version (its settings, tools, summary and evictions)."""
    history: int = 0
    """The newest in-context message's seq this client has in its context."""
    tools: int = -1
    """The stored tools' state (``Versions.tools``)."""
    blocks: dict[str, tuple[int, Fields]] = field(default_factory=dict)
    """Each block's version and its fields at that version."""
    order: tuple[str, ...] = ()
    """The agent's block ids, in order."""
    stale: bool = False
    """Reload everything at the next refresh (after a failed step: memory may be ahead)."""


def fields(block: Block) -> Fields:
    """A block's fields, as compared and restored."""
    return block.__dict__.copy()


def merge(known: Fields, mine: Fields, fresh: Fields) -> Fields | None:
    """``fresh`` with the edit ``known -> mine`` re-applied, or ``None`` when it conflicts.

    The value is merged by lines (see ``rebase``); any other field this edit changed wins,
    the rest come from ``fresh``. The result must fit the block's limit, and an edit of the
    value is refused if the block became read-only meanwhile.
    """
    value = rebase(known["value"], mine["value"], fresh["value"])
    if value is None:
        return None
    if mine["value"] != known["value"] and fresh["read_only"] and not known["read_only"]:
        return None
    merged = {k: mine[k] if mine[k] != known[k] else fresh[k] for k in fresh}
    merged["value"] = value
    if len(value) > merged["limit"]:
        return None
    return merged


def apply_row(state: AgentState, row: AgentRow) -> None:
    """Copy what the agent's row holds onto ``state`` (not its tools or blocks)."""
    state.name, state.system, state.max_steps = row.name, row.system, row.max_steps
    state.model, state.embedding = row.model, row.embedding
    state.context_window_limit = row.settings.get("context_window_limit")
    state.context = ContextConfig(**row.settings.get("context", {}))
    state.tool_rules = load_rules(row.settings.get("tool_rules"))


@dataclass(frozen=True)
class Resolver:
    """How the client that loaded an agent turns its stored names into running objects.

    The client decides (a client-wide model override, model objects given per agent), so a
    change of model or embedding made by any client is picked up at the next refresh.
    """

    model: Callable[[AgentState], Model]
    """The model to call for the agent as it is now."""
    window: Callable[[AgentState], ContextState]
    """Fresh context bookkeeping: the window size and token counter for the agent's model."""
    archival: Callable[[AgentState], ArchivalMemory]
    """The agent's archival memory, searching with its embedding model as it is now."""


@dataclass
class LiveAgent:
    """An agent loaded for running: its state, its in-context history, its model, its lock."""

    state: AgentState
    context: list[Record]
    model: Model
    window: ContextState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    known: Known = field(default_factory=Known)
    resolver: Resolver | None = None
    """Set by the client: a changed model, window or embedding is swapped in on refresh."""

    _toolset: tuple[tuple[int, ...], ToolSet] | None = None
    _system: tuple[tuple[Any, ...], str] | None = None
    _formed: tuple[int, int] = (0, 0)
    """(id of the first record, length) of the context last found well-formed."""

    def request_context(self) -> list[Record]:
        """The context as the model must get it: every call answered exactly once.

        The engine stores whole call/result groups and evicts whole groups, so only what was
        appended since the last check is checked; a history broken anyway (written by
        something else) is repaired, never sent as it is.
        """
        context = self.context
        first = id(context[0]) if context else 0
        done = self._formed[1] if self._formed[0] == first else 0
        if done <= len(context) and is_well_formed(context[done:]):
            self._formed = (first, len(context))
            return context
        return well_formed(context)

    @property
    def toolset(self) -> ToolSet:
        """The agent's tools as a ``ToolSet`` (rebuilt only when the tools change)."""
        key = tuple(id(t) for t in self.state.tools)
        if self._toolset is None or self._toolset[0] != key:
            self._toolset = (key, ToolSet(self.state.tools))
        return self._toolset[1]

    def system_prompt(self) -> str:
        """The compiled system prompt (recompiled only when prompt or memory changed)."""
        memory = self.state.memory
        key = (
            self.state.system,
            *((b.label, b.value, b.limit, b.description, b.read_only) for b in memory),
        )
        if self._system is None or self._system[0] != key:
            self._system = (key, self.state.compile_system())
        return self._system[1]

    # -- freshness -----------------------------------------------------------------------

    def adopt(self, blocks: list[tuple[Block, int]]) -> None:
        """Make ``blocks`` (as stored, with versions) the agent's memory."""
        self.state.memory.replace_blocks([block for block, _ in blocks])
        self.known.blocks = {b.id: (version, fields(b)) for b, version in blocks}
        self.known.order = tuple(b.id for b, _ in blocks)

    def refresh(self, store: Store, registry: ToolRegistry) -> None:
        """Reload whatever changed in the database since this agent was last loaded.

        Call only between steps, when memory holds no uncommitted edit.

        Raises:
            NotFoundError: the agent was deleted.
        """
        self.catch_up(store, registry, store.versions(self.state.id))

    def catch_up(self, store: Store, registry: ToolRegistry, versions: Versions | None) -> None:
        """``refresh``, given the versions it reads first (read by the caller: ``GroupReads``).

        Raises:
            NotFoundError: the agent was deleted (``versions`` is ``None``).
        """
        agent_id, known = self.state.id, self.known
        if versions is None:
            raise NotFoundError(f"agent {agent_id!r} was deleted")
        row = None
        if known.stale or (versions.agent, versions.history) != (known.agent, known.history):
            row = store.agent(agent_id)
            if row is None:
                raise NotFoundError(f"agent {agent_id!r} was deleted")
            self._reload_row(store, row)
        if row is not None or versions.tools != known.tools:
            row = row or store.agent(agent_id)
            if row is None:
                raise NotFoundError(f"agent {agent_id!r} was deleted")
            self.state.tools = registry.resolve_all(row.tools)
        order = tuple(block_id for block_id, _ in versions.blocks)
        if known.stale or order != known.order:
            self.adopt(store.versioned_blocks(agent_id))
        else:
            for block_id, version in versions.blocks:
                if known.blocks[block_id][0] != version:
                    self._reload_block(store, block_id)
        known.agent, known.history = versions.agent, versions.history
        known.tools, known.stale = versions.tools, False

    def _reload_row(self, store: Store, row: AgentRow) -> None:
        state = self.state
        before = (state.model, state.embedding, state.context_window_limit)
        apply_row(state, row)
        self.context[:] = well_formed(store.messages(row.id, in_context=True), keep_pending=True)
        window = self.window
        window.summary, window.summarized = row.summary, row.summarized
        window.summary_error = row.summary_error
        window.config = state.context
        if self.resolver is not None:
            self._swap(self.resolver, *before)

    def _swap(
        self, resolver: Resolver, model: str, embedding: str | None, limit: int | None
    ) -> None:
        """Swap in the model, window or embedder that changed (the arguments: as they were)."""
        state, window = self.state, self.window
        if state.model != model:
            self.model = resolver.model(state)
        if (state.model, state.context_window_limit) != (model, limit):
            fresh = resolver.window(state)
            window.window, window.window_known = fresh.window, fresh.window_known
            window.counter, window.correction = fresh.counter, 1.0  # a new model: measure anew
            window.counted_len = 0  # counted with the old counter
        if state.embedding != embedding:
            state.archival = resolver.archival(state)

    def _reload_block(self, store: Store, block_id: str) -> None:
        found = store.versioned_block(block_id)
        if found is None:  # deleted under us: the membership reload will drop it
            self.known.stale = True
            return
        fresh, version = found
        block = next(b for b in self.state.memory if b.id == block_id)
        block.__dict__.update(fields(fresh))
        self.known.blocks[block_id] = (version, fields(fresh))
