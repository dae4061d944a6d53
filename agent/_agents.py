"""``client.agents``: create, list, retrieve, modify and delete agents, every problem at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agent._context import ContextConfig
from agent._embedding import EmbeddingModel
from agent._errors import ConfigError, NotFoundError
from agent._input import unknown_keys
from agent._memory import Block, Memory
from agent._model import Model
from agent._resources import (
    AgentBlocks,
    AgentContext,
    AgentTools,
    CoreMemory,
    Messages,
    Passages,
)
from agent._rules import (
    RequiresApprovalToolRule,
    ToolRule,
    check_rules,
    dump_rules,
    parse_rules,
)
from agent._state import DEFAULT_SYSTEM, AgentState
from agent._text import MAX_INT, bad_fields
from agent.store import AgentRow, Store
from toolkit import SchemaError, Tool

if TYPE_CHECKING:
    from agent._client import AsyncClient

__all__ = ["Agents"]

BlockSpec = Block | Mapping[str, Any]

BLOCK_KEYS = tuple(Block.model_fields)


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
        self.tools = AgentTools(client)

    def _tools(
        self, tools: Iterable[str], tool_ids: Iterable[str], include_base_tools: bool
    ) -> tuple[list[Tool[..., Any]], list[str]]:
        registry, problems = self._client.registry, []
        chosen = registry.base_tools() if include_base_tools else []  # or their overrides
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
        tool_rules: Iterable[ToolRule | Mapping[str, Any]] = (),
        requires_approval: Iterable[str] = (),
    ) -> AgentState:
        """Create an agent; every configuration problem is reported in one ``ConfigError``.

        ``context_window_limit`` overrides the model's known window (tokens); ``context``
        sets when messages are evicted and the model warned (see ``ContextConfig``).
        ``tool_rules`` (``ToolRule`` models or dicts) say which tools may be called when;
        ``requires_approval`` names tools whose calls wait for a person's approval (a
        ``RequiresApprovalToolRule`` each). See docs/agents.md.
        """
        problems: list[str] = []
        blocks: list[Block] = []
        for index, spec in enumerate(memory_blocks):
            if isinstance(spec, Mapping):  # a typo ("valu") must not make an empty block
                problems += unknown_keys(f"memory block {index}", spec, BLOCK_KEYS)
            elif not isinstance(spec, Block):
                problems.append(f"memory block {index} must be a dict or a Block, got {spec!r:.40}")
                continue
            try:
                blocks.append(_block(spec))
            except (ValueError, TypeError) as e:
                problems += _block_problems(index, spec, e)
        problems += bad_fields([("name", name), ("system", system)])
        labels = [b.label for b in blocks]
        problems += [
            f"two memory blocks are labelled {x!r}"
            for x in sorted({x for x in labels if labels.count(x) > 1})
        ]
        chosen, tool_problems = self._tools(tools, tool_ids, include_base_tools)
        problems += tool_problems
        problems += self._client.check_models(model, embedding)
        problems += _limit_problems(max_steps, context_window_limit)
        config = _context(context, problems) or ContextConfig()
        rules = _rules(tool_rules, requires_approval, [t.name for t in chosen], problems)
        if problems:
            raise ConfigError("agents.create", problems)
        state = AgentState(
            name=name or "agent",
            system=system or DEFAULT_SYSTEM,
            memory=Memory(blocks),
            tools=chosen,
            model=model if isinstance(model, str) else model.name,
            embedding=embedding if isinstance(embedding, str | None) else embedding.name,
            max_steps=max_steps or 20,
            context_window_limit=context_window_limit,
            context=config,
            tool_rules=rules,
        )
        if not isinstance(model, str):
            self._client._models[state.id] = model
        if embedding is not None and not isinstance(embedding, str):
            self._client._embeddings[state.id] = embedding
        store = self._client.store
        with store.transaction():
            store.save_agent(_row(state, [self._client.registry.ref(t) for t in chosen]))
            store.attach_blocks(state.id, state.memory.blocks)
        return self._client._attach(state)

    async def list(self) -> list[AgentState]:
        """Every agent, as stored now."""
        client = self._client
        store = client.store
        return [client._state(row, store.agent_blocks(row.id)) for row in store.agents()]

    async def retrieve(self, agent_id: str) -> AgentState:
        """One agent, as stored now."""
        return self._client.load(agent_id)

    async def modify(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        system: str | None = None,
        model: str | Model | None = None,
        embedding: str | EmbeddingModel | None = None,
        max_steps: int | None = None,
        context_window_limit: int | None = None,
        context: ContextConfig | Mapping[str, float] | None = None,
        tools: Iterable[str] | None = None,
        tool_ids: Iterable[str] | None = None,
        block_ids: Iterable[str] | None = None,
        tool_rules: Iterable[ToolRule | Mapping[str, Any]] | None = None,
        requires_approval: Iterable[str] | None = None,
    ) -> AgentState:
        """Change an agent (``None``: unchanged); checked as ``create`` checks it.

        ``model`` and ``embedding`` are names (or objects, used by this client); the model's
        window and token counter follow the new model unless ``context_window_limit`` is set.
        The embedding model cannot change while archival memory holds passages embedded by
        another one (their vectors would not compare). ``context`` replaces the eviction
        settings. ``tools`` (names) and ``tool_ids`` together replace the agent's tools (base
        tools are not added: name them); ``block_ids`` replace its blocks, in order;
        ``tool_rules`` replace its rules; ``requires_approval`` replaces the tools that need
        approval (the other rules stay). The rules are checked against the agent's tools as
        they will be. Never waits for a running turn: every client running the agent uses
        the change from its next model call. Every problem is reported in one ``ConfigError``.
        """
        client, problems = self._client, bad_fields([("name", name), ("system", system)])
        current = client.load(agent_id)
        problems += client.check_models(model, embedding)
        problems += _limit_problems(max_steps, context_window_limit)
        config = None if context is None else _context(context, problems)
        problems += _embedding_change(client.store, current, embedding)
        refs, names = None, current.tool_names
        if tools is not None or tool_ids is not None:
            chosen, tool_problems = self._tools(tools or (), tool_ids or (), False)
            problems += tool_problems
            refs = [client.registry.ref(t) for t in chosen]
            names = [t.name for t in chosen]
        rules: list[ToolRule] | None = None
        if tool_rules is not None or requires_approval is not None or refs is not None:
            kept = current.tool_rules if tool_rules is None else tool_rules
            if requires_approval is not None:
                kept = [r for r in kept if not _approval_rule(r)]
            rules = _rules(kept, requires_approval or (), names, problems)
        blocks = _stored_blocks(client.store, block_ids or (), problems)
        if problems:
            raise ConfigError("agents.modify", problems)
        settings = {
            "context_window_limit": context_window_limit,
            "context": None if config is None else config.model_dump(),
            "tool_rules": None if rules is None else dump_rules(rules),
        }
        model_name = model if isinstance(model, str | None) else model.name
        embedding_name = embedding if isinstance(embedding, str | None) else embedding.name
        with client.store.transaction():
            if not client.store.update_agent(agent_id, name=name, system=system, tools=refs):
                raise NotFoundError(f"no agent with id {agent_id!r}")
            client.store.update_running(
                agent_id, model=model_name, embedding=embedding_name, max_steps=max_steps
            )
            if block_ids is not None:
                client.store.attach_blocks(agent_id, blocks)
            if changed := {k: v for k, v in settings.items() if v is not None}:
                client.store.update_settings(agent_id, changed)
        if model is not None and not isinstance(model, str):
            client._models[agent_id] = model
        if embedding is not None and not isinstance(embedding, str):
            client._embeddings[agent_id] = embedding
        return client.load(agent_id)

    async def delete(self, agent_id: str) -> None:
        """Delete an agent with its messages (and the blocks no other agent shares).

        Waits for a running turn of the agent (in any client) to end first.
        """
        client = self._client
        async with client.holding(agent_id):
            client.store.delete_agent(agent_id)
        client._live.pop(agent_id, None)
        client._archives.pop(agent_id, None)


def _embedding_change(
    store: Store, current: AgentState, embedding: str | EmbeddingModel | None
) -> list[str]:
    """A problem if the embedding model changes under passages embedded by the old one."""
    name = embedding if isinstance(embedding, str | None) else embedding.name
    if name is None or name == current.embedding:
        return []
    embedded = store.embedded_passages(current.id)
    if not embedded:
        return []
    return [
        f"embedding: archival memory holds {embedded} passages embedded with "
        f"{current.embedding!r}; their vectors would not compare with {name!r} (delete "
        "them, or keep the embedding model)"
    ]


def _stored_blocks(store: Store, block_ids: Iterable[str], problems: list[str]) -> list[Block]:
    """The stored blocks with these ids, in order; each missing or clashing one a problem."""
    blocks: list[Block] = []
    for block_id in block_ids:
        found = store.block(block_id)
        if found is None:
            problems.append(f"no block with id {block_id!r}")
        elif any(b.label == found.label for b in blocks):
            problems.append(f"two blocks are labelled {found.label!r}")
        else:
            blocks.append(found)
    return blocks


def _limit_problems(max_steps: int | None, context_window_limit: int | None) -> list[str]:
    """Problems with a step limit or a context window limit (``None``: not given)."""
    problems = []
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        problems.append(f"max_steps must be at least 1, got {max_steps!r}")
    elif max_steps is not None and max_steps > MAX_INT:
        problems.append(f"max_steps must be at most {MAX_INT}, got {max_steps}")
    if context_window_limit is not None and (
        not isinstance(context_window_limit, int) or context_window_limit < 256
    ):
        problems.append(f"context_window_limit must be at least 256, got {context_window_limit!r}")
    return problems


def _context(
    context: ContextConfig | Mapping[str, float] | None, problems: list[str]
) -> ContextConfig | None:
    """The eviction settings, or ``None`` with a line in ``problems`` for each mistake."""
    try:
        config = context if isinstance(context, ContextConfig) else ContextConfig(**(context or {}))
    except (ValidationError, TypeError) as e:
        if not isinstance(e, ValidationError):
            problems.append(f"context must be a ContextConfig or a dict, got {context!r:.40}")
            return None
        problems += [f"context: {'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()]
        return None
    if config.evict_to >= config.evict_at:
        problems.append("context: evict_to must be below evict_at")
        return None
    return config


def _approval_rule(rule: object) -> bool:
    if isinstance(rule, Mapping):
        return rule.get("type") == "requires_approval"
    return isinstance(rule, RequiresApprovalToolRule)


def _rules(
    rules: Iterable[ToolRule | Mapping[str, Any]],
    approval: Iterable[str],
    tools: list[str],
    problems: list[str],
) -> list[ToolRule]:
    """The rules, with one approval rule per name in ``approval``, checked against ``tools``."""
    if isinstance(approval, str):
        problems.append(f"requires_approval must be a list of tool names, got {approval!r}")
        approval = ()
    found = parse_rules(rules, problems)
    for name in approval:
        if isinstance(name, str):
            found.append(RequiresApprovalToolRule(tool_name=name))
        else:
            problems.append(f"requires_approval: a tool name must be text, got {name!r}")
    problems += check_rules(found, tools)
    return found


def _row(state: AgentState, tools: list[dict[str, str | None]]) -> AgentRow:
    settings = {
        "context_window_limit": state.context_window_limit,
        "context": state.context.model_dump(),
        "tool_rules": dump_rules(state.tool_rules),
    }
    return AgentRow(
        state.id, state.name, state.system, state.model, state.embedding, state.max_steps,
        state.created_at, tools, settings,
    )  # fmt: skip
