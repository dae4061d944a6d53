"""From validated keyword arguments to a call of the function, whatever its signature's shape.

The binders hand over one dict of keyword arguments. Most functions take it as is, and get
the function itself (the fast path stays one call). The rest get a small adapter that:

- passes positional-only parameters positionally (``def f(x: int, /)``), and every parameter
  before ``*args`` positionally too, followed by the array sent for ``*args``;
- spreads the object sent for ``**kwargs`` into keyword arguments;
- supplies a default the function cannot: ``n: int = Field(default=5)`` would otherwise get the
  ``FieldInfo`` itself, and ``n: Annotated[int, Field(default=5)]`` nothing at all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from toolkit._schema import Param

__all__ = ["caller"]


def caller(fn: Callable[..., Any], params: Iterable[Param] = ()) -> Callable[..., Any]:
    """``fn``, or an adapter calling ``fn`` with ``**kwargs`` the way its signature needs.

    ``params`` are the parameters the model fills; ``*args`` and ``**kwargs`` are mapped only
    when they are among them (a hand-written schema passes unknown keys to ``**kwargs``).
    """
    params = list(params)
    fills = {p.name: p.fill for p in params if p.fill is not None}
    kinds = {p.name: p.kind for p in params}
    star = next((n for n, k in kinds.items() if k is inspect.Parameter.VAR_POSITIONAL), None)
    stars = next((n for n, k in kinds.items() if k is inspect.Parameter.VAR_KEYWORD), None)
    code = None if hasattr(fn, "__wrapped__") else getattr(fn, "__code__", None)
    if not (fills or star or stars) and code is not None and not code.co_posonlyargcount:
        return fn  # the common case, without reading the signature again
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn
    leading = [p for p in sig.parameters.values() if p.kind is p.POSITIONAL_ONLY]
    if star is not None:
        leading = [
            p
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    if not (fills or leading or star or stars):
        return fn
    positional = [(p.name, p.default) for p in leading]

    def call(**kwargs: Any) -> Any:
        for name, fill in fills.items():
            if name not in kwargs:
                kwargs[name] = fill()
        args = [kwargs.pop(name) if name in kwargs else default for name, default in positional]
        if star is not None:
            args.extend(kwargs.pop(star, ()))
        if stars is not None:
            kwargs.update(kwargs.pop(stars, None) or {})
        return fn(*args, **kwargs)

    return call
