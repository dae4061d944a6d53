"""Marking a parameter as injected: filled by the caller of ``invoke``, never by the model."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, get_args

__all__ = ["INJECTED_NAMES", "Injected", "is_injected"]

T = TypeVar("T")


class _InjectedMarker:
    def __repr__(self) -> str:
        return "Injected"


_MARKER = _InjectedMarker()

Injected = Annotated[T, _MARKER]
"""``Injected[T]``: a parameter supplied at ``invoke`` time by the application, never the model."""

INJECTED_NAMES = frozenset({"agent_state"})
"""Parameters injected by name alone, whatever their annotation (``agent_state: "AgentState"``)."""
_ANNOTATED_ALIAS: Any = type(Injected)  # isinstance(a, it) is ``get_origin(a) is Annotated``


def is_injected(name: str, annotation: Any) -> bool:
    """Whether a parameter is injected, by name or by an ``Injected[...]`` annotation."""
    if name in INJECTED_NAMES:
        return True
    if isinstance(annotation, str):
        return annotation.replace(" ", "").startswith(("Injected[", "toolkit.Injected["))
    return isinstance(annotation, _ANNOTATED_ALIAS) and any(
        m is _MARKER for m in get_args(annotation)
    )
