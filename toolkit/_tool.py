"""``Tool``: a Python function the model can call, and the ``@tool`` decorator."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar, overload

from pydantic import ValidationError
from typing_extensions import ParamSpec

from toolkit._arguments import PydanticArguments, SchemaArguments
from toolkit._calling import caller
from toolkit._docstring import DocstringStyle
from toolkit._errors import InjectionError, SchemaError, ToolError
from toolkit._injected import is_injected
from toolkit._jsonschema import FrozenDict, Schema, freeze, thaw
from toolkit._result import ToolResult, render
from toolkit._schema import NAME_PATTERN, function_schema
from toolkit._source import function_from_source, function_source
from toolkit._strict import NotStrict, to_strict

__all__ = ["Tool", "tool"]

P = ParamSpec("P")
R = TypeVar("R")
logger = logging.getLogger("selfedit.tools")
_Binder = PydanticArguments | SchemaArguments


class Tool(Generic[P, R]):
    """A function plus what the model needs to call it: name, description, JSON schema.

    Calling the tool calls the function. ``invoke`` / ``ainvoke`` take the model's arguments
    (JSON text or a dict), validate them, run the function, and always return a ``ToolResult``
    for anything the model got wrong.
    """

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str,
        description: str,
        parameters: Schema,
        binder: _Binder,
        injected: tuple[str, ...] = (),
        strict: bool | None = None,
        timeout: float | None = None,
        return_char_limit: int = 50_000,
        source: str | None = None,
    ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        """The wrapped function."""
        self.name = name
        """The name the model calls the tool by."""
        self.description = description
        """What the tool does, for the model."""
        self.parameters = parameters
        self.injected = injected
        """Names of the parameters the caller of ``invoke`` supplies."""
        self.strict = strict
        """``True``: always strict; ``False``: never; ``None``: strict whenever possible."""
        self.timeout = timeout
        """Seconds a call may take, or ``None``."""
        self.return_char_limit = return_char_limit
        """Longest text the model gets back; longer output is cut with a note."""
        self._binder = binder
        self._call: Callable[..., Any] = fn
        self._source = source
        self.options: dict[str, Any] = {}
        """The keyword options this tool was made with that differ from their defaults (for
        ``from_schema`` tools, the hand-written ``schema`` too): what rebuilds it elsewhere."""
        self._is_async = inspect.iscoroutinefunction(fn)
        plain = not (injected or self._is_async or timeout is not None)
        self._direct = plain and isinstance(binder, PydanticArguments) and binder.direct
        self._fast: Callable[[str], dict[str, Any]] | None = None  # set at the first invoke
        self._openai: dict[bool, dict[str, Any]] = {}
        try:
            self.strict_parameters = to_strict(parameters)
            self.strict_reason: str | None = None
            """Why the tool cannot be strict, or ``None``."""
        except NotStrict as e:
            self.strict_parameters, self.strict_reason = None, str(e)
        if strict and self.strict_reason:
            raise SchemaError(f"tool {name!r}", [f"strict=True, but {self.strict_reason}"])

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_function(
        cls,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
        timeout: float | None = None,
        return_char_limit: int = 50_000,
        docstring_style: DocstringStyle = "auto",
        require_docs: bool = True,
        source: str | None = None,
    ) -> Tool[P, R]:
        """Build a tool from a typed, documented function (``@tool`` without the decorator).

        ``require_docs=False`` takes a function as it is: no description needed, parameters
        without descriptions, and ``*args`` / ``**kwargs`` as an array and an object parameter.
        """
        spec = function_schema(
            fn,
            name=name,
            description=description,
            docstring_style=docstring_style,
            require_docs=require_docs,
        )
        made = cls(
            fn,
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters,
            binder=PydanticArguments(spec),
            injected=spec.injected,
            strict=strict,
            timeout=timeout,
            return_char_limit=return_char_limit,
            source=source,
        )
        made._call = caller(fn, spec.params)
        given = {"name": name, "description": description, "docstring_style": docstring_style}
        made.options = _given(**given, require_docs=require_docs, **made._call_options())
        return made

    @classmethod
    def from_schema(
        cls,
        schema: Schema,
        fn: Callable[..., Any],
        *,
        strict: bool | None = None,
        timeout: float | None = None,
        return_char_limit: int = 50_000,
    ) -> Tool[..., Any]:
        """Wrap ``fn`` with a hand-written schema: ``{"name", "description", "parameters"}``.

        The OpenAI wrapper (``{"type": "function", "function": {...}}``) is accepted too.
        Arguments are checked with ``jsonschema`` and passed to ``fn`` as keyword arguments.
        """
        body = schema.get("function", schema) if schema.get("type") == "function" else schema
        name, description = body.get("name", ""), body.get("description", "")
        parameters = body.get("parameters", {"type": "object", "properties": {}})
        problems = []
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            problems.append(f"name {name!r} must match {NAME_PATTERN.pattern}")
        if not description:
            problems.append("no description")
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            problems.append("parameters must be a JSON schema of type 'object'")
        if problems:
            raise SchemaError(f"schema of tool {name!r}", problems)
        sig = inspect.signature(fn)
        injected = tuple(n for n, p in sig.parameters.items() if is_injected(n, p.annotation))
        _check_signature(name, sig, parameters, injected)
        made = cls(
            fn,
            name=name,
            description=description,
            parameters=thaw(parameters),  # a copy: the caller's dict may change later
            binder=SchemaArguments(name, parameters),
            injected=injected,
            strict=strict,
            timeout=timeout,
            return_char_limit=return_char_limit,
        )
        made._call = caller(fn)
        schema = {"name": name, "description": description, "parameters": parameters}
        made.options = {"schema": schema, **_given(**made._call_options())}
        return made

    @classmethod
    def from_source(
        cls,
        code: str,
        name: str | None = None,
        *,
        function: str | None = None,
        namespace: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Tool[..., Any]:
        """Build a tool from source text defining a function (the form tools are stored in).

        The code runs in a fresh namespace (holding a copy of ``namespace``, if given); imports
        the function needs belong in its body. ``function`` picks the function (by default
        ``name``; without either, the source must define exactly one); ``name`` and the other
        options are those of ``@tool``.
        """
        fn, text = function_from_source(code, function or name, namespace)
        return cls.from_function(fn, source=text, name=name, **options)

    def _call_options(self) -> dict[str, Any]:
        return {
            "strict": self.strict,
            "timeout": self.timeout,
            "return_char_limit": self.return_char_limit,
        }

    # -- what the model sees -----------------------------------------------------------------

    @property
    def parameters(self) -> Schema:
        """The loose JSON schema of the arguments (defaults shown, optional ones not required).

        A fresh copy on every read: editing it (as ``hypothesis-jsonschema`` does) never
        changes what ``invoke`` accepts.
        """
        return thaw(self._loose)  # type: ignore[no-any-return]

    @parameters.setter
    def parameters(self, value: Schema) -> None:
        self._loose: Schema = value  # private: handed out only as copies, or frozen

    @property
    def strict_parameters(self) -> Schema | None:
        """The strict variant of ``parameters`` (a fresh copy too), or ``None``."""
        return thaw(self._strict_schema)  # type: ignore[no-any-return]

    @strict_parameters.setter
    def strict_parameters(self, value: Schema | None) -> None:
        self._strict_schema: Schema | None = value

    @functools.cached_property
    def source(self) -> str | None:
        """The function's source, dedented and without decorators, or ``None``."""
        return self._source or function_source(self.fn)

    def openai_schema(self, strict: bool | None = None) -> dict[str, Any]:
        """The ``{"type": "function", "function": {...}}`` object OpenAI's API takes.

        ``strict=None`` follows the tool's own setting (strict whenever possible by default).
        The returned dict is cached and read-only (``copy.deepcopy`` gives an editable copy).
        """
        use = self._use_strict(strict)
        cached = self._openai.get(use)
        if cached is None:
            params = self._strict_schema if use else self._loose
            function = FrozenDict(
                name=self.name, description=self.description, parameters=freeze(params), strict=use
            )
            cached = self._openai[use] = FrozenDict(type="function", function=function)
        return cached

    def _use_strict(self, strict: bool | None) -> bool:
        if strict is None:
            strict = self.strict
        if strict and self._strict_schema is None:
            raise SchemaError(f"tool {self.name!r}", [f"cannot be strict: {self.strict_reason}"])
        return self._strict_schema is not None if strict is None else strict

    # -- calling ---------------------------------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function itself, exactly as without the decorator."""
        return self.fn(*args, **kwargs)

    def _bind(self, arguments: str | dict[str, Any], injected: dict[str, Any]) -> Any:
        if not self.injected:
            bound = self._binder.bind(arguments)
            return self._error(f"invalid arguments: {bound}") if isinstance(bound, str) else bound
        missing = [n for n in self.injected if n not in injected]
        if missing:
            names = ", ".join(map(repr, missing))
            raise InjectionError(f"tool {self.name!r} needs injected value(s) {names}")
        bound = self._binder.bind(arguments)
        if isinstance(bound, str):
            return self._error(f"invalid arguments: {bound}")
        for n in self.injected:
            if n in bound:
                return self._error(f"invalid arguments: unknown argument {n!r}")
            bound[n] = injected[n]
        return bound

    def _error(self, text: str) -> ToolResult:
        return ToolResult("error", f"Error: tool {self.name!r}: {text}")

    def _failure(self, exc: BaseException) -> ToolResult:
        if isinstance(exc, ToolError):
            return ToolResult("error", str(exc))
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            return self._error(f"timed out after {self.timeout}s")
        logger.warning("tool %r raised", self.name, exc_info=exc)
        return self._error(f"failed: {type(exc).__name__}: {exc}")

    def _success(self, value: Any) -> ToolResult:
        return ToolResult("success", render(value, self.return_char_limit), value)

    def invoke(self, arguments: str | dict[str, Any] = "", /, **injected: Any) -> ToolResult:
        """Run the tool with the model's arguments; never raises for a model mistake.

        Raises:
            InjectionError: an injected parameter was not supplied (a developer mistake).
        """
        fast = self._fast
        if fast is None and self._direct:
            fast = self._fast = self._binder.validator.validate_json  # type: ignore[union-attr]
        if fast is not None and arguments.__class__ is str and not injected:
            # the common case straight through: valid JSON text, no nulls, a short str result
            try:
                kwargs = fast(arguments)
            except ValidationError:
                kwargs = None  # the full path below explains what is wrong
            if kwargs is not None and None not in kwargs.values():
                try:
                    value = self._call(**kwargs)
                except Exception as e:  # the boundary where a tool's failure becomes a message
                    return self._failure(e)
                if value.__class__ is str and len(value) <= self.return_char_limit:
                    return ToolResult("success", value, value)
                return self._success(value)
        bound = self._bind(arguments, injected)
        if isinstance(bound, ToolResult):
            return bound
        try:
            if self._is_async:
                value = _run_coroutine(self._call_async(bound))
            elif self.timeout is not None:
                value = _run_with_timeout(self._call, bound, self.timeout)
            else:
                value = self._call(**bound)
        except Exception as e:  # the boundary where a tool's failure becomes a message
            return self._failure(e)
        return self._success(value)

    async def ainvoke(self, arguments: str | dict[str, Any] = "", /, **injected: Any) -> ToolResult:
        """Like ``invoke``, awaiting async tools and running sync ones in a worker thread."""
        bound = self._bind(arguments, injected)
        if isinstance(bound, ToolResult):
            return bound
        try:
            if self._is_async:
                value = await self._call_async(bound)
            else:
                call = asyncio.to_thread(functools.partial(self._call, **bound))
                value = await asyncio.wait_for(call, self.timeout)
        except Exception as e:  # the boundary where a tool's failure becomes a message
            return self._failure(e)
        return self._success(value)

    async def _call_async(self, bound: dict[str, Any]) -> Any:
        coroutine: Awaitable[Any] = self._call(**bound)
        if self.timeout is None:
            return await coroutine
        return await asyncio.wait_for(coroutine, self.timeout)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"


_DEFAULTS: dict[str, Any] = {
    "name": None,
    "description": None,
    "strict": None,
    "timeout": None,
    "return_char_limit": 50_000,
    "docstring_style": "auto",
    "require_docs": True,
}


def _given(**options: Any) -> dict[str, Any]:
    """The options that differ from the defaults of ``@tool``."""
    return {k: v for k, v in options.items() if v != _DEFAULTS[k]}


def _check_signature(
    name: str, sig: inspect.Signature, parameters: Schema, injected: tuple[str, ...]
) -> None:
    """A hand-written schema and its function must agree on the argument names."""
    props = set(parameters.get("properties", {}))
    params = sig.parameters
    problems = []
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        problems += [f"the function takes no argument {n!r}" for n in sorted(props - set(params))]
    for n, p in params.items():
        required = p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        if required and n not in props and n not in injected:
            problems.append(f"the function requires {n!r}, which the schema does not declare")
    if problems:
        raise SchemaError(f"schema of tool {name!r}", problems)


def _run_coroutine(coroutine: Awaitable[Any]) -> Any:
    """Run a coroutine from sync code, even when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(coroutine))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _await(coroutine)).result()


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _run_with_timeout(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, **kwargs).result(timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError from None
    finally:
        pool.shutdown(wait=False)


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    return_char_limit: int = 50_000,
    docstring_style: DocstringStyle = "auto",
    require_docs: bool = True,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
    timeout: float | None = None,
    return_char_limit: int = 50_000,
    docstring_style: DocstringStyle = "auto",
    require_docs: bool = True,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a typed, documented function into a ``Tool``: ``@tool``, ``@tool()`` or ``@tool(...)``.

    Every problem with the function (no docstring, an undocumented parameter, an unsupported
    type, ...) is raised at once, at decoration time, as one ``SchemaError``. With
    ``require_docs=False`` descriptions are optional and ``*args`` / ``**kwargs`` are accepted.
    """

    def decorate(f: Callable[P, R]) -> Tool[P, R]:
        return Tool.from_function(
            f,
            name=name,
            description=description,
            strict=strict,
            timeout=timeout,
            return_char_limit=return_char_limit,
            docstring_style=docstring_style,
            require_docs=require_docs,
        )

    return decorate if fn is None else decorate(fn)
