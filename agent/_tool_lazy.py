"""``LazyTool``: a stored tool as an agent holds it, built at its first call.

Reading a tools row runs nothing: the model is offered the stored schema, exactly as it was
sent when the tool was upserted. The first call imports the referenced module or compiles the
stored source (or, sandboxed, hands every call to a new process). Whatever is wrong with a row
(a malformed field, a missing module, source that does not compile) becomes that call's tool
error, naming the problem and the fix; listing, other tools and other agents keep working.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent._sandbox import Sandbox, apply, request
from agent._tool_spec import Recipe, build, source_hash
from agent.store import ToolRow
from toolkit import InjectionError, SchemaError, Tool, ToolResult

if TYPE_CHECKING:
    from agent._state import AgentState

__all__ = ["LazyTool"]

logger = logging.getLogger("selfedit.tools")
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_UPSERT = "upsert it again (client.tools.upsert_from_function)"


class LazyTool(Tool[..., Any]):
    """A stored tool: its stored schema now, its code at the first call.

    Args:
        row: the stored row (read as data only).
        sandbox: the client-wide sandbox, asked at each call (``None``: only tools stored with
            ``sandbox=True`` run in one).
        built: the tool itself, when this process upserted it.
        problem: why the row cannot be used at all (it was not found).
    """

    def __init__(  # Tool.__init__ is not called: it would check, and may refuse, the schema
        self,
        row: ToolRow,
        *,
        sandbox: Callable[[], Sandbox | None] = lambda: None,
        built: Tool[..., Any] | None = None,
        problem: str | None = None,
    ) -> None:
        self.id, self.version, self.name = row.id, row.version, _safe_name(row.name)
        self.fn = self._call_directly
        self._row, self._client_sandbox, self._built = row, sandbox, built
        self._recipe: Recipe | None = None
        self._problem = problem or self._read(row)
        function = _function(row.schema)
        self.description = str(function.get("description", ""))
        loose = self._recipe.parameters if self._recipe else None
        if not isinstance(loose, dict):
            loose = function.get("parameters")
        self.parameters = loose if isinstance(loose, dict) else {"type": "object", "properties": {}}
        self._strict = function.get("strict") is True
        self.strict = self._strict
        self.strict_parameters = function.get("parameters") if self._strict else None
        self.strict_reason = None if self._strict else "stored without a strict schema"
        self.injected = self._recipe.injected if self._recipe else ("agent_state",)
        options: dict[str, Any] = self._recipe.options if self._recipe else {}
        self.options = dict(options)
        self.timeout = options.get("timeout")
        self.return_char_limit = options.get("return_char_limit", 50_000)
        self._schema = self._offered(row, function)
        self._openai: dict[bool, dict[str, Any]] = {}

    def _read(self, row: ToolRow) -> str | None:
        try:
            self._recipe = Recipe.stored(row.reference, row.source, row.spec)
        except ValueError as e:
            return str(e)
        return None

    def _offered(self, row: ToolRow, function: dict[str, Any]) -> dict[str, Any]:
        """The stored schema if it is one the API takes; else a stand-in the model can call."""
        parameters = function.get("parameters")
        if (
            row.schema.get("type") == "function"
            and function.get("name") == self.name
            and isinstance(parameters, dict)
            and parameters.get("type") == "object"
        ):
            return row.schema
        self._problem = self._problem or "its stored schema is not an OpenAI function schema"
        stand_in = {"name": self.name, "description": "Unavailable: broken stored tool."}
        parameters = {"type": "object", "properties": {}, "additionalProperties": True}
        return {"type": "function", "function": {**stand_in, "parameters": parameters}}

    # -- what the model sees -----------------------------------------------------------------

    @property
    def source(self) -> str | None:
        """The stored source."""
        return self._row.source

    def openai_schema(self, strict: bool | None = None) -> dict[str, Any]:
        """The stored schema until the tool is built; then the built tool's own.

        The other strictness than the stored one is only available for the loose form.
        """
        if self._built is not None and self._sandbox() is None:
            return self._built.openai_schema(strict)
        if strict is None or strict == self._strict or self._problem:
            return self._schema
        if strict:
            raise SchemaError(f"tool {self.name!r}", ["it was stored without a strict schema"])
        cached = self._openai.get(False)
        if cached is None:
            loose = {**self._schema["function"], "parameters": self.parameters, "strict": False}
            cached = self._openai[False] = {"type": "function", "function": loose}
        return cached

    # -- calling ---------------------------------------------------------------------------

    def _sandbox(self) -> Sandbox | None:
        """The sandbox this call runs in, if any (asked at each call: the client may switch)."""
        client = self._client_sandbox()
        if self._row.sandbox:
            return client or Sandbox()
        recipe = self._recipe  # self-contained source: not a module the user ships
        alone = recipe is not None and recipe.reference is None and recipe.module is None
        return client if alone else None

    def _tool(self) -> Tool[..., Any] | ToolResult:
        """The real tool, built once; or the error result of a build that failed."""
        if self._built is not None:
            return self._built
        if self._problem or self._recipe is None:
            return self._error(f"cannot be used: {self._problem}; {_UPSERT}")
        recipe = self._recipe
        try:
            self._built = build(recipe, self.name)
        except (Exception, SystemExit) as e:  # stored code, imported or compiled: report it
            logger.warning("tool %r could not be built", self.name, exc_info=e)
            self._problem = self._build_failure(f"{type(e).__name__}: {e}")
            return self._error(self._problem)
        self._warn_if_changed(self._built)
        return self._built

    def _build_failure(self, error: str) -> str:
        recipe = self._recipe
        if recipe is not None and recipe.reference is not None:
            module = recipe.reference.partition(":")[0]
            return (
                f"could not be loaded from {recipe.reference}: {error}; make {module!r} "
                f"importable in this process, or {_UPSERT}"
            )
        return f"could not be built from its stored source: {error}; fix it and {_UPSERT}"

    def _warn_if_changed(self, built: Tool[..., Any]) -> None:
        recipe = self._recipe
        if recipe is None or recipe.reference is None or recipe.source is None:
            return
        now = source_hash(built.source)
        if now == self._row.source_hash:
            return
        schema = (
            "its schema is unchanged"
            if built.openai_schema() == self._schema
            else "its schema changed: the model is now sent the schema of the current code"
        )
        logger.warning(
            "tool %r: %s changed since it was upserted (source hash %s, now %s); %s. "
            "Upsert it again to store this version.",
            self.name,
            recipe.reference,
            self._row.source_hash,
            now,
            schema,
        )

    def _given(self, tool: Tool[..., Any], injected: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in injected.items() if k in tool.injected}

    def invoke(self, arguments: str | dict[str, Any] = "", /, **injected: Any) -> ToolResult:
        """Run the tool (building it first if needed); never raises for the stored form."""
        sandbox = self._sandbox()
        if sandbox is not None:
            check = self._sandboxable()
            if isinstance(check, ToolResult):
                return check
            answer = sandbox.run_sync(request(check, self.name, arguments, _state(injected)))
            return self._answered(answer, injected)
        tool = self._tool()
        if isinstance(tool, ToolResult):
            return tool
        try:
            return tool.invoke(arguments, **self._given(tool, injected))
        except InjectionError as e:
            return self._error(f"{e}; a stored tool is given only agent_state")

    async def ainvoke(self, arguments: str | dict[str, Any] = "", /, **injected: Any) -> ToolResult:
        """Async ``invoke``: a sandboxed call awaits its process."""
        sandbox = self._sandbox()
        if sandbox is not None:
            check = self._sandboxable()
            if isinstance(check, ToolResult):
                return check
            answer = await sandbox.run(request(check, self.name, arguments, _state(injected)))
            return self._answered(answer, injected)
        tool = self._tool()
        if isinstance(tool, ToolResult):
            return tool
        try:
            return await tool.ainvoke(arguments, **self._given(tool, injected))
        except InjectionError as e:
            return self._error(f"{e}; a stored tool is given only agent_state")

    def _sandboxable(self) -> Recipe | ToolResult:
        recipe = self._recipe
        if self._problem or recipe is None:
            return self._error(f"cannot be used: {self._problem}; {_UPSERT}")
        if recipe.reference is not None or recipe.module is not None or recipe.source is None:
            problem = "it must run in a sandbox, but it was stored without its source"
            return self._error(f"cannot be used: {problem}; {_UPSERT} with sandbox=True")
        return recipe

    def _answered(self, answer: dict[str, Any] | str, injected: dict[str, Any]) -> ToolResult:
        if isinstance(answer, str):
            return self._error(answer)
        if answer.get("built") is False:
            return self._error(self._build_failure(str(answer.get("content"))))
        return apply(answer, _state(injected))

    def _call_directly(self, *args: Any, **kwargs: Any) -> Any:
        tool = self._tool()
        if isinstance(tool, ToolResult):
            raise SchemaError(f"tool {self.name!r}", [tool.content])
        return tool.fn(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself, in this process (building it first)."""
        return self._call_directly(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyTool(name={self.name!r}, id={self.id!r}, version={self.version})"


def _state(injected: dict[str, Any]) -> AgentState | None:
    return injected.get("agent_state")


def _function(schema: dict[str, Any]) -> dict[str, Any]:
    function = schema.get("function")
    return function if isinstance(function, dict) else {}


def _safe_name(name: str) -> str:
    """A name the API accepts, whatever a row says (the model must be able to call it)."""
    return name if _NAME.match(name) else (re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "tool")
