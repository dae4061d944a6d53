"""How a tool is stored and rebuilt: by reference when importable, else by source.

A function that a new process can import (``module:qualname`` resolves back to it) is stored by
reference: the new process imports the code the user ships. Anything else (defined in
``__main__``, a notebook, by ``exec``, or given as text) is stored as source, and the source is
checked statically at upsert: every name it uses must be a builtin or defined in the stored
text. Nothing here runs a tool's body.

This module imports only the standard library and ``toolkit``: the sandbox process loads it.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import dis
import functools
import hashlib
import importlib
import importlib.machinery
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from toolkit import SchemaError, Tool

__all__ = ["Recipe", "build", "checked_source", "describe", "reference_of", "source_hash"]

_INJECTED_BY_NAME = "agent_state"
_PROVIDED = frozenset(dir(builtins)) | {"__name__", "__doc__", "__file__", "__builtins__"}


def source_hash(source: str | None) -> str | None:
    """A stable fingerprint of a tool's source."""
    return hashlib.sha256(source.encode()).hexdigest()[:16] if source else None


@dataclass(frozen=True)
class Recipe:
    """Everything that rebuilds a stored tool, without running anything to read it."""

    reference: str | None
    """``module:qualname`` of an importable function, else ``None``."""
    source: str | None
    """The function's source (for a reference: to notice edits)."""
    function: str | None
    """The name of the ``def`` in ``source`` (``@tool(name=...)`` may differ)."""
    module: str | None = None
    """An importable module whose names the source may use (it was defined in a function
    there); ``None``: the source is self-contained."""
    options: dict[str, Any] = field(default_factory=dict)
    """The ``@tool`` options (``Tool.options``)."""
    injected: tuple[str, ...] = ()
    """The parameters the caller supplies (``agent_state``)."""
    parameters: dict[str, Any] | None = None
    """The loose JSON schema of the arguments."""

    def spec(self) -> dict[str, Any]:
        """The JSON stored beside the source and the reference."""
        return {
            "function": self.function,
            "module": self.module,
            "options": self.options,
            "injected": list(self.injected),
            "parameters": self.parameters,
        }

    @classmethod
    def stored(cls, reference: str | None, source: str | None, spec: dict[str, Any]) -> Recipe:
        """Read a recipe back; a field of the wrong shape raises ``ValueError`` saying which."""
        options, injected = spec.get("options", {}), spec.get("injected")
        function, parameters = spec.get("function"), spec.get("parameters")
        module = spec.get("module")
        if module is not None and not isinstance(module, str):
            raise ValueError("its stored module name is not a string")
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise ValueError("its stored options are not a JSON object")
        if injected is not None and not _strings(injected):
            raise ValueError("its stored injected names are not a list of strings")
        if function is not None and not isinstance(function, str):
            raise ValueError("its stored function name is not a string")
        if reference is not None and reference.count(":") != 1:
            raise ValueError(f"its reference {reference!r} is not 'module:qualname'")
        if reference is None and source is None:
            raise ValueError("it was stored with neither source nor an importable reference")
        return cls(
            reference,
            source,
            function,
            module,
            options,
            (_INJECTED_BY_NAME,) if injected is None else tuple(injected),
            parameters if isinstance(parameters, dict) else None,
        )


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# -- storing -------------------------------------------------------------------------------


def reference_of(fn: Callable[..., Any]) -> str | None:
    """``module:qualname`` if a new process can import ``fn`` by that name, else ``None``."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname or not _importable(module):
        return None
    target: Any = sys.modules[module]
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return f"{module}:{qualname}" if target is fn or getattr(target, "fn", None) is fn else None


def describe(tool: Tool[..., Any], *, by_source: bool = False) -> Recipe:
    """How ``tool`` is stored: by reference when importable (unless ``by_source``), else source.

    Raises:
        SchemaError: a source-only tool uses names its stored source cannot provide (each one
            is named, with the fix), or a hand-written schema's function is not importable.
    """
    reference = None if by_source else reference_of(tool.fn)
    source, name = tool.source, tool.fn.__name__
    injected, options = tool.injected, dict(tool.options)
    module = getattr(tool.fn, "__module__", None)
    module = module if not by_source and module and _importable(module) else None
    if reference is not None:
        return Recipe(reference, source, name, None, options, injected, tool.parameters)
    if "schema" in options:
        problem = (
            "it was made with Tool.from_schema, and its function is not importable: define the "
            "function in an importable module"
        )
        raise SchemaError(f"tool {tool.name!r}", [problem])
    if source is None:
        return Recipe(None, None, name, None, options, injected, tool.parameters)
    text, function = checked_source(tool, source, module is not None)
    return Recipe(None, text, function, module, options, injected, tool.parameters)


def checked_source(tool: Tool[..., Any], source: str, in_module: bool) -> tuple[str, str]:
    """The text to store (with imports its signature's names need) and the ``def``'s name.

    ``in_module``: the source will run with the names of the function's (importable) module.
    """
    subject = f"tool {tool.name!r}"
    source = textwrap.dedent(source)
    try:
        tree = ast.parse(source)
        code = compile(tree, "<tool>", "exec", flags=_ANNOTATIONS, dont_inherit=True)
    except SyntaxError as e:
        raise SchemaError(subject, [f"its source does not parse: {e.msg} (line {e.lineno})"]) from e
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    name = tool.fn.__name__ if tool.fn.__name__ in defs else next(iter(defs), None)
    if name is None or (len(defs) > 1 and tool.fn.__name__ not in defs):
        raise SchemaError(subject, [f"its source defines no function {tool.fn.__name__!r}"])
    scope = getattr(tool.fn, "__globals__", {})
    body, signature = _missing(code)
    if in_module:
        body, signature = body - set(scope), signature - set(scope)
    # names from an enclosing function: this process has them (the registry warns that only
    # this process can run the tool); a new process's call fails, naming the name
    body -= set(getattr(getattr(tool.fn, "__code__", None), "co_freevars", ()))
    signature |= _annotation_names(defs[name]) - _defined(code) - _PROVIDED
    imports, problems = [], [_body_problem(n, scope) for n in sorted(body)]
    for missing in sorted(signature - body):
        line = _import_line(missing, scope)
        if line is None:
            problems.append(_signature_problem(missing, scope))
        else:
            imports.append(line)
    if problems:
        raise SchemaError(subject, problems)
    header = "".join(f"{line}  # added: its signature uses it\n" for line in imports)
    return (header + "\n\n" + source if header else source), name


_ANNOTATIONS = __future__.annotations.compiler_flag
_READS = {"LOAD_GLOBAL", "LOAD_NAME"}
_WRITES = {"STORE_NAME", "STORE_GLOBAL", "DELETE_NAME"}
_OPS = frozenset({*_READS, *_WRITES, "IMPORT_NAME"})


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _code_objects(const)


def _names(code: types.CodeType, ops: set[str]) -> set[str]:
    """The names the instructions ``ops`` of ``code`` use (its own code, not nested code)."""
    by_op = _operands(code)
    return set().union(*(by_op.get(op, ()) for op in ops))


@functools.lru_cache(maxsize=64)
def _operands(code: types.CodeType) -> dict[str, frozenset[str]]:
    """Each instruction of ``code`` with the names it uses (one pass: ``dis`` is slow)."""
    found: dict[str, set[str]] = {}
    for instruction in dis.get_instructions(code):
        if instruction.opname in _OPS:
            found.setdefault(instruction.opname, set()).add(str(instruction.argval))
    return {op: frozenset(names) for op, names in found.items()}


def _defined(module: types.CodeType) -> set[str]:
    """Names the stored text itself binds at module level (or everything, after ``import *``)."""
    return _names(module, _WRITES) | _names(module, {"IMPORT_NAME"}) & {"*"}


def _missing(module: types.CodeType) -> tuple[set[str], set[str]]:
    """Names read but never bound: by function bodies, and by module-level code (defaults)."""
    defined = _defined(module)
    if "*" in defined:
        return set(), set()
    body: set[str] = set()
    for code in _code_objects(module):
        reads = _names(code, _READS)
        if code.co_flags & inspect.CO_NEWLOCALS and not code.co_flags & inspect.CO_OPTIMIZED:
            reads -= _names(code, _WRITES)  # a class body: its own names are local
        body |= reads
    signature = _names(module, {"LOAD_NAME"})
    return body - defined - _PROVIDED, signature - defined - _PROVIDED


def _annotation_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the parameters' annotations use (pydantic resolves them to build the schema)."""
    args = node.args
    names: set[str] = set()
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        annotation: ast.AST | None = arg.annotation
        if annotation is None or arg.arg == _INJECTED_BY_NAME:
            continue
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:  # a whole annotation in quotes is code; strings inside it are metadata
                annotation = ast.parse(annotation.value, mode="eval")
            except SyntaxError:
                continue
        names |= {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}
    return names


def _import_line(name: str, scope: dict[str, Any]) -> str | None:
    """An import that gives ``name`` the object it has in ``scope``, if it is importable."""
    if name not in scope:
        return None
    value = scope[name]
    alias = "" if name == getattr(value, "__name__", name) else f" as {name}"
    if isinstance(value, types.ModuleType):
        return f"import {value.__name__}{alias}" if _importable(value.__name__) else None
    module = getattr(value, "__module__", None)
    attribute = getattr(value, "__name__", None) or getattr(value, "_name", None) or name
    if not isinstance(module, str) or not _importable(module):
        return None
    if getattr(sys.modules[module], attribute, None) is not value:
        return None
    alias = "" if name == attribute else f" as {name}"
    return f"from {module} import {attribute}{alias}"


def _importable(module: str) -> bool:
    """Whether a new process (with this one's path) can import ``module`` by its name."""
    loaded = sys.modules.get(module)
    if module == "__main__" or getattr(loaded, "__spec__", None) is None:
        return False  # made by exec or Tool.from_source: no file a new process could import
    # loaded from a path no finder knows (a file run by path) cannot be found again; ask the
    # finders themselves, not sys.modules (editable installs have a finder of their own)
    top = module.partition(".")[0]
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is not None and find(top, None) is not None:
            return True
    return False


def _what(name: str, scope: dict[str, Any]) -> str:
    if name not in scope:
        return "which is not defined anywhere"
    value = scope[name]
    if isinstance(value, types.ModuleType):
        return "a module imported beside it"
    if inspect.isfunction(value) or isinstance(value, Tool):
        return "a function defined beside it"
    if inspect.isclass(value):
        return "a class defined beside it"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} defined beside it"


def _body_problem(name: str, scope: dict[str, Any]) -> str:
    line = _import_line(name, scope)
    if line is not None:
        fix = f"{line} inside the function"
    elif name in scope and (inspect.isfunction(scope[name]) or inspect.isclass(scope[name])):
        fix = "define it inside the function, or move both into an importable module"
    else:
        fix = "define it inside the function, or move the tool into an importable module"
    return f"uses {name!r} ({_what(name, scope)}), which its stored source cannot provide: {fix}"


def _signature_problem(name: str, scope: dict[str, Any]) -> str:
    return (
        f"its signature uses {name!r} ({_what(name, scope)}), which its stored source cannot "
        "provide: write the value itself, or move the tool and its types into an importable module"
    )


# -- rebuilding ----------------------------------------------------------------------------


def build(recipe: Recipe, name: str) -> Tool[..., Any]:
    """The tool a recipe describes, named ``name``.

    Importing a reference runs that module; building from source runs the stored text.
    """
    options = dict(recipe.options)
    schema = options.pop("schema", None)
    options["name"] = name
    if recipe.reference is None:
        assert recipe.source is not None  # Recipe.stored refuses a recipe with neither
        namespace = vars(importlib.import_module(recipe.module)) if recipe.module else None
        return Tool.from_source(
            recipe.source, function=recipe.function, namespace=namespace, **options
        )
    module, _, qualname = recipe.reference.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    fn = target.fn if isinstance(target, Tool) else target
    if not callable(fn):
        raise TypeError(f"{recipe.reference} is a {type(fn).__name__}, not a function")
    if isinstance(schema, dict):
        del options["name"]  # the hand-written schema names the tool
        return Tool.from_schema(schema, fn, **options)
    return Tool.from_function(fn, **options)
