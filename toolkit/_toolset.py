"""``ToolSet``: the tools an agent can call, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from toolkit._errors import SchemaError
from toolkit._result import ToolResult
from toolkit._tool import Tool

__all__ = ["ToolSet"]


class ToolSet:
    """An ordered registry of tools with unique names.

    Plain functions are made into tools as they are added; ``require_docs=False`` makes them
    the way ``@tool(require_docs=False)`` does (existing functions, taken without rewriting).
    """

    def __init__(
        self,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]] = (),
        *,
        require_docs: bool = True,
    ) -> None:
        self._tools: dict[str, Tool[..., Any]] = {}
        self.require_docs = require_docs
        """Whether functions added as such must be documented (see ``@tool``)."""
        for t in tools:
            self.add(t)

    def add(self, tool: Tool[..., Any] | Callable[..., Any]) -> None:
        """Register ``tool`` (a plain function is made into a tool first).

        Raises:
            SchemaError: a tool with the same name is already registered, or the function
                cannot be a tool.
        """
        if not isinstance(tool, Tool):
            tool = Tool.from_function(tool, require_docs=self.require_docs)
        if tool.name in self._tools:
            raise SchemaError("tool set", [f"duplicate tool name {tool.name!r}"])
        self._tools[tool.name] = tool

    def __getitem__(self, name: str) -> Tool[..., Any]:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool[..., Any]]:
        return iter(self._tools.values())

    def __repr__(self) -> str:
        return f"ToolSet({list(self._tools)!r})"

    @property
    def names(self) -> list[str]:
        """Tool names, in insertion order."""
        return list(self._tools)

    def select(self, names: Iterable[str]) -> ToolSet:
        """A new set holding only ``names``, in the order given.

        Raises:
            SchemaError: some names are not in this set (all of them are named).
        """
        names = list(names)
        unknown = [n for n in names if n not in self._tools]
        if unknown:
            available = ", ".join(self._tools) or "none"
            problem = f"unknown tool(s) {', '.join(map(repr, unknown))}; available: {available}"
            raise SchemaError("tool set", [problem])
        return ToolSet(self._tools[n] for n in names)

    def openai_schemas(self, strict: bool | None = None) -> list[dict[str, Any]]:
        """Every tool's ``openai_schema(strict)``, in order."""
        return [t.openai_schema(strict) for t in self._tools.values()]

    def _unknown(self, name: str) -> ToolResult:
        available = ", ".join(self._tools) or "none"
        return ToolResult("error", f"Error: unknown tool {name!r}; available tools: {available}")

    def invoke(
        self, name: str, arguments: str | dict[str, Any] = "", /, **injected: Any
    ) -> ToolResult:
        """Invoke the tool called ``name``; an unknown name is an error result, not an exception.

        Injected values a tool does not declare are not passed to it.
        """
        t = self._tools.get(name)
        if t is None:
            return self._unknown(name)
        return t.invoke(arguments, **{k: v for k, v in injected.items() if k in t.injected})

    async def ainvoke(
        self, name: str, arguments: str | dict[str, Any] = "", /, **injected: Any
    ) -> ToolResult:
        """Async ``invoke``."""
        t = self._tools.get(name)
        if t is None:
            return self._unknown(name)
        return await t.ainvoke(arguments, **{k: v for k, v in injected.items() if k in t.injected})
