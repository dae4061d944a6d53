"""Which tool a name or an id means: the built-in tools, and tools stored in the database.

A stored tool is kept by reference (``module:qualname``) when its function is importable, else
by source, checked at upsert (see ``_tool_spec``). Reading one back runs nothing: agents get a
``LazyTool`` that offers the stored schema and builds the tool at its first call. Built-in
names are protected: only a tool upserted with ``override=True`` takes one over. A name with
a slash (``"server/tool"``) means a tool of a registered MCP server (see ``_mcp_source``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import stdlib_tools
from agent._errors import NotFoundError
from agent._ids import new_id
from agent._mcp_source import McpSource, McpTool, is_mcp_name
from agent._sandbox import Sandbox
from agent._tool_lazy import LazyTool
from agent._tool_spec import describe, source_hash
from agent.store import Store, ToolRow
from toolkit import SchemaError, Tool

__all__ = ["StoredTool", "ToolRegistry", "source_hash"]

logger = logging.getLogger("selfedit.tools")
_BASE = frozenset(t.name for t in stdlib_tools.BASE_TOOLS)


@functools.cache
def _standard() -> dict[str, Tool[..., Any]]:
    found = (getattr(stdlib_tools, n) for n in stdlib_tools.__all__)
    return {t.name: t for t in found if isinstance(t, Tool)}


@dataclass(frozen=True)
class StoredTool:
    """A tool registered with the client (what ``client.tools`` returns)."""

    id: str
    """The tool's id, stable across upserts of the same name."""
    name: str
    """The tool's name."""
    description: str
    """What the model reads about it."""
    source: str | None
    """The function's source: what a new process compiles (unless ``reference`` is set)."""
    source_hash: str | None
    """A fingerprint of ``source`` (a referenced function edited since is noticed by it)."""
    json_schema: dict[str, Any]
    """The OpenAI schema, exactly as the model is sent it."""
    reference: str | None = None
    """``module:qualname``: a new process imports the function from there."""
    options: dict[str, Any] = field(default_factory=dict)
    """The ``@tool`` options it was stored with (``return_char_limit``, ``timeout``, ...)."""
    override: bool = False
    """Whether it takes over the name of a built-in tool."""
    sandbox: bool = False
    """Whether each call runs in a separate process."""
    version: int = 1
    """Bumped by every upsert."""


def _stored(row: ToolRow) -> StoredTool:
    function = row.schema.get("function")
    description = str(function.get("description", "")) if isinstance(function, dict) else ""
    options = row.spec.get("options")
    return StoredTool(
        row.id, row.name, description, row.source, row.source_hash, row.schema, row.reference,
        options if isinstance(options, dict) else {}, row.override, row.sandbox, row.version,
    )  # fmt: skip


class ToolRegistry:
    """Tools by name and id: the built-in set, then tools upserted into the store.

    Args:
        store: where tools are stored.
        sandbox: run every source-only tool in a separate process with these settings
            (``None``: only the tools upserted with ``sandbox=True``, with default settings).
    """

    def __init__(self, store: Store, *, sandbox: Sandbox | None = None) -> None:
        self._store = store
        self.sandbox = sandbox
        """The client-wide sandbox for source-only tools, or ``None``."""
        self._live: dict[tuple[str, int], Tool[..., Any]] = {}  # upserted by this process
        self._loaded: dict[tuple[str, int], LazyTool] = {}  # by (id, version)
        self.mcp = McpSource(store)
        """The registered MCP servers and their tools."""

    @staticmethod
    def standard() -> dict[str, Tool[..., Any]]:
        """The tools of ``stdlib_tools``, by name (made once, shared: read it, never change it)."""
        return _standard()

    def upsert(
        self,
        func: Callable[..., Any] | Tool[..., Any],
        *,
        override: bool = False,
        sandbox: bool = False,
    ) -> StoredTool:
        """Store ``func`` under its tool name: the same name keeps its id; the version goes up.

        Raises:
            SchemaError: the name is a base tool's and ``override`` is not set; or a source-only
                function uses names its stored source cannot provide (each one, with the fix).
        """
        tool = func if isinstance(func, Tool) else Tool.from_function(func)
        self._check_name(tool.name, override)
        recipe = describe(tool, by_source=sandbox)
        self._warn_if_only_here(tool, recipe.reference, recipe.source)
        saved = self._save(
            tool.name, recipe.source, tool.openai_schema(), recipe.spec(),
            reference=recipe.reference, override=override, sandbox=sandbox,
        )  # fmt: skip
        self._live[(saved.id, saved.version)] = tool
        return _stored(saved)

    def upsert_described(
        self,
        *,
        name: str,
        source: str,
        schema: dict[str, Any],
        spec: dict[str, Any],
    ) -> StoredTool:
        """Store a source-only tool read elsewhere (``describe`` in another process), sandboxed.

        Nothing of it runs here: ``name``, ``source``, ``schema`` and ``spec`` are what the
        reading process answered (``Tool.name``, ``Recipe.source``, ``Tool.openai_schema()``,
        ``Recipe.spec()``). Its calls run in the sandbox process. The same name keeps its id.
        Such a tool never takes over a base tool's name (``upsert(..., override=True)`` can).

        Raises:
            SchemaError: the name is a base tool's (``send_message``, the memory tools).
        """
        if name in _BASE:
            problem = (
                f"{name!r} is the name of a built-in tool; a tool read from source cannot take "
                "it over: rename the function"
            )
            raise SchemaError(f"tool {name!r}", [problem])
        return _stored(self._save(name, source, schema, spec, override=False, sandbox=True))

    @staticmethod
    def _check_name(name: str, override: bool) -> None:
        if name in _BASE and not override:
            problem = (
                f"{name!r} is the name of a built-in tool; pass override=True to store "
                f"yours under it (every agent that uses {name!r} then gets yours)"
            )
            raise SchemaError(f"tool {name!r}", [problem])

    def _save(
        self,
        name: str,
        source: str | None,
        schema: dict[str, Any],
        spec: dict[str, Any],
        *,
        reference: str | None = None,
        override: bool,
        sandbox: bool,
    ) -> ToolRow:
        """Write the tool's row by name (the one place tool rows are written).

        A stored name keeps its id: the new id is used only if the name is new.
        """
        builtin = name in self.standard()
        row = ToolRow(
            new_id("tool"), name, source, schema, source_hash(source), reference, spec,
            builtin and override, sandbox,
        )  # fmt: skip
        with self._store.transaction():
            return self._store.save_tool(row, datetime.now(timezone.utc))

    @staticmethod
    def _warn_if_only_here(tool: Tool[..., Any], reference: str | None, source: str | None) -> None:
        """A tool a new process cannot rebuild works here only: say so, and how to fix it."""
        if reference is not None:
            return
        code = getattr(tool.fn, "__code__", None)
        if source is None:
            why = "its source is not available (it was made by exec or at an interactive prompt)"
        elif code is not None and code.co_freevars:
            names = ", ".join(map(repr, code.co_freevars))
            why = f"it uses {names} from the function that defines it"
        else:
            return
        logger.warning(
            "tool %r: %s, so only this process can run it (elsewhere its calls fail); define it "
            "at the top level of a file or module",
            tool.name,
            why,
        )

    def _lazy(self, row: ToolRow) -> LazyTool:
        key = (row.id, row.version)
        found = self._loaded.get(key)
        if found is None:
            built = self._live.get(key)
            found = self._loaded[key] = LazyTool(row, sandbox=lambda: self.sandbox, built=built)
        return found

    def _find(self, tool_id: str | None, name: str) -> Tool[..., Any] | None:
        """The tool an id (else a name) means, built-in names protected; ``None``: no such tool.

        A row without the override flag never replaces a base tool; for the other built-in
        names it is what its id means, while the name still means the built-in.
        """
        row = self._store.tool(id=tool_id) if tool_id else self._store.tool(name=name)
        return self._pick(row, tool_id, name)

    def _pick(self, row: ToolRow | None, tool_id: str | None, name: str) -> Tool[..., Any] | None:
        """``_find``'s choice, given the row the id (else the name) found."""
        builtin = self.standard().get(row.name if row else name)
        if row is None:
            return builtin
        if builtin is not None and not row.override and (row.name in _BASE or tool_id is None):
            return builtin
        return self._lazy(row)

    def base_tools(self) -> list[Tool[..., Any]]:
        """The base tools (``stdlib_tools.BASE_TOOLS``), each as ``by_name`` finds it.

        A tool upserted with ``override=True`` takes a built-in's place. One query for them all.
        """
        names = [t.name for t in stdlib_tools.BASE_TOOLS]
        rows = {row.name: row for row in self._store.tools_named(names)}
        found = [self._pick(rows.get(name), None, name) for name in names]
        return [tool for tool in found if tool is not None]

    def by_id(self, tool_id: str) -> Tool[..., Any]:
        """The tool with this id (not built: see ``LazyTool``)."""
        found = self._find(tool_id, "")
        if found is None:
            raise NotFoundError(f"no tool with id {tool_id!r}")
        return found

    def by_name(self, name: str) -> Tool[..., Any]:
        """A tool by name: the built-in one, unless a stored tool overrides it.

        ``"server/tool"`` is a tool of a registered MCP server (``SchemaError`` if there is
        no such server or tool).
        """
        if is_mcp_name(name):
            server, remote = name.split("/", 1)
            return self.mcp.tool(server, remote)
        found = self._find(None, name)
        if found is None:
            known = ", ".join(
                dict.fromkeys([*self.standard(), *(r.name for r in self._store.tools())])
            )
            raise NotFoundError(f"no tool named {name!r}; known tools: {known}")
        return found

    def ref(self, tool: Tool[..., Any]) -> dict[str, str | None]:
        """How an agent stores its reference to ``tool``."""
        if isinstance(tool, McpTool):
            return {"name": tool.name, "id": None, "mcp": f"{tool.server}/{tool.remote}"}
        if self.standard().get(tool.name) is tool:
            return {"name": tool.name, "id": None}
        if isinstance(tool, LazyTool):
            return {"name": tool.name, "id": tool.id}
        row = self._store.tool(name=tool.name)
        return {"name": tool.name, "id": row.id if row else None}

    def resolve(self, ref: dict[str, str | None]) -> Tool[..., Any]:
        """The tool a stored reference names. Never raises for what a row holds; runs nothing.

        A tool that is gone, or whose row is broken, still resolves: its calls return a tool
        error that names the problem and the fix.
        """
        return self.resolve_all([ref])[0]

    def resolve_all(self, refs: list[dict[str, str | None]]) -> list[Tool[..., Any]]:
        """``resolve`` for each of ``refs``, every stored row they name read in one query."""
        keys = [_key(ref) for ref in refs]
        stored = [(tool_id, name) for tool_id, name, mcp in keys if mcp is None]
        rows = self._store.tools_named(
            [name for tool_id, name in stored if tool_id is None],
            [tool_id for tool_id, _ in stored if tool_id is not None],
        )
        by_id = {row.id: row for row in rows}
        by_name = {row.name: row for row in rows}
        tools: list[Tool[..., Any]] = []
        for tool_id, name, mcp in keys:
            if mcp is not None:
                tools.append(self._resolve_mcp(mcp, name))
                continue
            row = by_id.get(tool_id) if tool_id else by_name.get(name)
            found = self._pick(row, tool_id, name)
            if found is None:
                missing = ToolRow(tool_id or "", name, None, {}, None)
                what = (
                    f"no stored tool has id {tool_id!r}"
                    if tool_id
                    else f"no tool is named {name!r}"
                )
                found = LazyTool(missing, problem=f"{what} (it was deleted or never stored)")
            tools.append(found)
        return tools

    def _resolve_mcp(self, mcp: str, name: str) -> Tool[..., Any]:
        """An MCP server's tool from its stored listing (nothing is contacted, nothing runs)."""
        server, _, remote = mcp.partition("/")
        try:
            return self.mcp.tool(server, remote, name)
        except (SchemaError, ValueError, TypeError) as e:
            return LazyTool(ToolRow("", name, None, {}, None), problem=str(e))

    def list(self) -> list[StoredTool]:
        """Every stored tool."""
        return [_stored(r) for r in self._store.tools()]


def _key(ref: Any) -> tuple[str | None, str, str | None]:
    """What a stored reference names: (tool id, name, MCP "server/tool"), each well-typed.

    Anything else in an agents row (written by something else) names an unknown tool.
    """
    if not isinstance(ref, dict):
        ref = {}
    tool_id, name, mcp = ref.get("id"), ref.get("name"), ref.get("mcp")
    tool_id = tool_id if isinstance(tool_id, str) else None
    name = name if isinstance(name, str) and name else (tool_id or "unknown_tool")
    return tool_id, name, mcp if isinstance(mcp, str) else None
