"""A function's source text, and a function rebuilt from source text."""

from __future__ import annotations
import __future__

import ast
import hashlib
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Mapping
from typing import Any

from toolkit._errors import SchemaError

__all__ = ["function_from_source", "function_source"]

_FunctionDef = (ast.FunctionDef, ast.AsyncFunctionDef)


def _strip_decorators(text: str) -> str:
    """Drop the decorator lines of the first ``def`` (``@tool`` would not run elsewhere).

    Everything else stays: imports and helpers above the function are part of its source.
    """
    tree = ast.parse(text)
    node = next((n for n in tree.body if isinstance(n, _FunctionDef)), None)
    if node is None or not node.decorator_list:
        return text
    lines = text.splitlines()
    first = node.decorator_list[0].lineno - 1
    return "\n".join(lines[:first] + lines[node.lineno - 1 :]) + "\n"


def function_source(fn: Callable[..., Any]) -> str | None:
    """The dedented source of ``fn`` without its decorators, or ``None`` if unavailable."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        return _strip_decorators(text)
    except (OSError, TypeError, SyntaxError):
        return None


def function_from_source(
    code: str, name: str | None, namespace: Mapping[str, Any] | None = None
) -> tuple[Callable[..., Any], str]:
    """Execute ``code`` in a fresh namespace and return the chosen function and its text.

    ``namespace`` holds names the code may use besides its own (copied in first).
    """
    code = textwrap.dedent(code).strip("\n") + "\n"
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise SchemaError("tool source", [f"syntax error at line {e.lineno}: {e.msg}"]) from None
    names = [n.name for n in tree.body if isinstance(n, _FunctionDef)]
    if name is None and len(names) != 1:
        found = ", ".join(names) or "none"
        problem = f"defines {len(names)} top-level functions ({found}); pass name=... to choose"
        raise SchemaError("tool source", [problem])
    chosen = name or names[0]
    if chosen not in names:
        problem = f"defines no top-level function {chosen!r} (found: {', '.join(names) or 'none'})"
        raise SchemaError("tool source", [problem])
    # a real module, registered, so pydantic can resolve the source's own names (models
    # defined beside the tool, ``from __future__ import annotations``)
    digest = hashlib.sha256(code.encode()).hexdigest()[:12]
    module = types.ModuleType(f"selfedit_source_{chosen}_{digest}")
    sys.modules[module.__name__] = module
    module.__dict__.update({k: v for k, v in (namespace or {}).items() if not k.startswith("__")})
    try:
        # annotations stay text (as under ``from __future__ import annotations``): a stored
        # tool may name types its source never imports, like ``agent_state: AgentState``
        flags = __future__.annotations.compiler_flag
        exec(compile(tree, f"<tool {chosen}>", "exec", flags=flags), module.__dict__)
    except Exception as e:  # any failure of the user's code is reported, not raised raw
        del sys.modules[module.__name__]
        raise SchemaError("tool source", [f"running it raised {type(e).__name__}: {e}"]) from None
    fn = module.__dict__[chosen]
    fn = getattr(fn, "fn", fn)  # a source that applied @tool itself
    return fn, _strip_decorators(code)
