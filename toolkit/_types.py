"""What pydantic's JSON schema of a type leaves unsaid, said, so the schema never over-promises.

A tool's schema is a promise to the model: every value it admits, the call accepts. pydantic's
schemas keep that promise for almost every type; the exceptions are fixed here:

- ``Decimal`` admits any string; the call takes only numerals. The string branch gets pydantic's
  own decimal pattern (``build_decimal_pattern``, which also honours ``max_digits``), with the
  exponent kept within the decimal context's range. With ``max_digits`` or ``decimal_places``
  only the string is offered: a JSON number cannot say how many digits it may have.
- A URL (``AnyUrl``, ``HttpUrl``, ...) says only ``format: uri``, which validation of the schema
  does not check and OpenAI's strict mode does not know. It gets a pattern for a plain
  ``scheme://host[:port][/path][?query]`` URL (a subset of what the URL parser accepts) in the
  allowed schemes.
- A set of an unhashable type (``set[SomeTypedDict]``, ``set[list[int]]``) admits arrays of
  objects no call accepts: it is reported as a problem with the function instead.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import is_typeddict

__all__ = ["Generator", "unhashable_set"]

_EXPONENT = "[eE][+-]?[0-9]+"
_LABEL = r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*"
# the last label starts with a letter: a numeric last label would be parsed as an IPv4 address
_HOST = rf"({_LABEL}\.)*[a-zA-Z]([a-zA-Z0-9]*(-[a-zA-Z0-9]+)*)"
_TAIL = r"(:[0-9]{1,4})?(/[a-zA-Z0-9._~-]*)*(\?[a-zA-Z0-9=&._~-]*)?"


def url_pattern(schemes: list[str] | None) -> str:
    """A pattern for plain URLs in ``schemes`` (any scheme when ``None``)."""
    scheme = "|".join(map(re.escape, schemes)) if schemes else "[a-zA-Z][a-zA-Z0-9+.-]*"
    return f"^({scheme})://{_HOST}{_TAIL}$"


class Generator(GenerateJsonSchema):
    """pydantic's JSON schema generator, with the promises above kept."""

    def get_decimal_pattern(self, schema: core_schema.DecimalSchema) -> str | None:
        """Numerals only, within ``max_digits`` and ``decimal_places`` when given.

        The exponent is capped at 5 digits: beyond the decimal context's range a numeral is
        refused, and pydantic's pattern leaves the exponent unbounded.
        """
        pattern = self.build_decimal_pattern(schema)
        if schema.get("max_digits") is not None or schema.get("decimal_places") is not None:
            # pydantic's alternative for exponents admits '1E3' past max_digits: numerals only
            return pattern.replace(f"|(?:[0-9]+\\.?[0-9]*|\\.[0-9]+){_EXPONENT}", "")
        return pattern.replace(_EXPONENT, "[eE][+-]?[0-9]{1,5}")

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        """With ``max_digits`` or ``decimal_places``, a string only: a JSON number says neither."""
        out = super().decimal_schema(schema)
        bounded = schema.get("max_digits") is not None or schema.get("decimal_places") is not None
        if bounded and "anyOf" in out:
            strings = [branch for branch in out["anyOf"] if branch.get("type") == "string"]
            return strings[0] if len(strings) == 1 else out
        return out

    def url_schema(self, schema: core_schema.UrlSchema) -> JsonSchemaValue:
        """A URL: ``format: uri`` and a pattern (which implies the ``minLength: 1``)."""
        out = super().url_schema(schema)
        out["pattern"] = url_pattern(schema.get("allowed_schemes"))
        out.pop("minLength", None)
        return out


_UNHASHABLE_ORIGINS = (list, dict, set, bytearray)


def _walk(annotation: Any, seen: set[int]) -> typing.Iterator[Any]:
    """Every type named inside ``annotation``: its arguments and the fields of its classes."""
    if id(annotation) in seen:
        return
    seen.add(id(annotation))
    yield annotation
    for arg in get_args(annotation):
        yield from _walk(arg, seen)
    fields: dict[str, Any] = {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {n: f.annotation for n, f in annotation.model_fields.items()}
    elif dataclasses.is_dataclass(annotation) or is_typeddict(annotation):
        try:
            fields = typing.get_type_hints(annotation, include_extras=True)
        except Exception:  # an unresolvable forward reference: pydantic reports it
            fields = {}
    for field in fields.values():
        yield from _walk(field, seen)


def _hashable(annotation: Any) -> bool:
    """Whether every value of ``annotation`` can be a member of a set."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _hashable(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, tuple, frozenset):
        return all(_hashable(arg) for arg in get_args(annotation) if arg is not Ellipsis)
    if origin is typing.Literal:
        return True
    cls = origin if isinstance(origin, type) else annotation
    if is_typeddict(cls) or cls in _UNHASHABLE_ORIGINS:
        return False
    return not isinstance(cls, type) or getattr(cls, "__hash__", None) is not None


def unhashable_set(annotation: Any) -> str | None:
    """Name a ``set``/``frozenset`` inside ``annotation`` whose items cannot be hashed."""
    try:
        return _cached_unhashable_set(annotation)
    except TypeError:  # an unhashable annotation: ``Annotated[T, Field(...)]``, most often
        pass
    if get_origin(annotation) is not Annotated:
        return _unhashable_set(annotation)
    # what walking it finds, in the same order: ``T`` (cached), then each piece of metadata
    base, *metadata = get_args(annotation)
    return unhashable_set(base) or next(filter(None, map(_unhashable_set, metadata)), None)


@functools.lru_cache(maxsize=1024)
def _cached_unhashable_set(annotation: Any) -> str | None:
    return _unhashable_set(annotation)


def _unhashable_set(annotation: Any) -> str | None:
    for inner in _walk(annotation, set()):
        if get_origin(inner) in (set, frozenset):
            (item,) = get_args(inner) or (Any,)
            if not _hashable(item):
                return f"{inner!r} holds unhashable items; use list[...] instead"
    return None
