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

_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


def caller(fn: Callable[..., Any], params: Iterable[Param] = ()) -> Callable[..., Any]:
    """``fn``, or an adapter calling ``fn`` with ``**kwargs`` the way its signature needs.

    ``params`` are the parameters the model fills; ``*args`` and ``**kwargs`` are mapped only
    when they are among them (a hand-written schema passes unknown keys to ``**kwargs``).
    """
    fills: dict[str, Callable[[], Any]] = {}
    star = stars = None
    for p in params:
        if p.fill is not None:
            fills[p.name] = p.fill
        if p.kind is _VAR_POSITIONAL and star is None:
            star = p.name
        elif p.kind is _VAR_KEYWORD and stars is None:
            stars = p.name
    code = None if hasattr(fn, "__wrapped__") else getattr(fn, "__code__", None)
    plain = code is not None and not code.co_posonlyargcount and star is None
    if plain and not (fills or stars):
        return fn  # the common case, without reading the signature again
    nothing_positional = plain and getattr(fn, "__signature__", None) is None
    leading = [] if nothing_positional else _leading(fn, star is not None)
    if leading is None or not (fills or leading or star or stars):
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


def _leading(fn: Callable[..., Any], star: bool) -> list[inspect.Parameter] | None:
    """The parameters passed positionally (all before ``*args`` when it is sent), or ``None``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    kinds = (_POSITIONAL_ONLY, _POSITIONAL_OR_KEYWORD) if star else (_POSITIONAL_ONLY,)
    return [p for p in sig.parameters.values() if p.kind in kinds]
