"""OpenAI's strict dialect of JSON schema, as one pure function over a tool's loose schema.

Strict mode (structured outputs) makes the model's arguments always match the schema, but only
for a subset of JSON schema: every object closed (``additionalProperties: false``) with all its
properties required, no ``default``, no length bounds, no free-form objects. ``to_strict`` maps a
loose schema into that subset without losing meaning:

- a parameter with a default becomes required but nullable; its description names the default,
  and ``null`` from the model means "use the default" (``invoke`` does that);
- a string length bound becomes a ``pattern``, merged into the string's own pattern when that
  is one repeated character class (``^[A-Za-z]+$`` with 3 to 20 characters becomes
  ``^[A-Za-z]{3,20}$``); an unsupported ``format`` or ``uniqueItems`` moves into the
  description, so the model still reads it (validation still enforces it);
- anything strict mode cannot say makes strict impossible, with the reason: a free-form object
  (``dict``, ``**kwargs``), a model that allows extra keys (``extra="allow"``), ``Any``, a
  fixed-length tuple (``prefixItems`` is not in strict mode's subset), a length bound next to
  a pattern that cannot absorb it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from toolkit._jsonschema import FrozenDict, FrozenList, Schema, freeze, map_schema

__all__ = ["NotStrict", "to_strict"]

# what ``json.dumps(value, ensure_ascii=False)`` does, without building an encoder per call
_dumps = json.JSONEncoder(ensure_ascii=False).encode

_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
_IMPOSSIBLE = {
    "patternProperties": "declares keys by pattern",
    "propertyNames": "constrains key names",
    "minProperties": "bounds the number of keys",
    "maxProperties": "bounds the number of keys",
    "prefixItems": "is a fixed-length tuple (strict mode has no 'prefixItems'; use list[...])",
    "contains": "constrains array contents with 'contains'",
    "allOf": "combines schemas with 'allOf'",
    "not": "uses 'not'",
    "if": "uses 'if'",
}
_TYPED = frozenset(("type", "$ref", "anyOf", "enum"))
# the keys ``_strict_node`` drops or rewrites (set checks first: most nodes have none of them)
_REWRITTEN = frozenset(
    ("default", "examples", "minLength", "maxLength", "uniqueItems", "format", "$ref")
)


class NotStrict(Exception):
    """The schema cannot be expressed in strict mode; the message says where and why."""


def _note(s: Schema, text: str) -> None:
    s["description"] = f"{s['description']} ({text})" if s.get("description") else f"({text})"


# ``^<one character class, escape or literal><quantifier>$``: a pattern a length bound can join
_REPEATED = re.compile(
    r"\^(?P<atom>\[(?:\\.|[^\]\\])*\]|\\[dwsDWS]|\.|[^\\^$.|?*+()\[\]{}])"
    r"(?P<count>[+*]|\{\d+\}|\{\d+,\d*\})\$"
)


def _count(quantifier: str) -> tuple[int, int | None]:
    if quantifier in "+*":
        return (1 if quantifier == "+" else 0), None
    low, comma, high = quantifier.strip("{}").partition(",")
    if not comma:
        return int(low), int(low)
    return int(low), int(high) if high else None


def _length_pattern(s: Schema) -> None:
    low, high = s.pop("minLength", None), s.pop("maxLength", None)
    if low is None and high is None:
        return
    atom, low, high = "[\\s\\S]", low or 0, high
    if "pattern" in s:
        match = _REPEATED.fullmatch(s["pattern"])
        if match is None:
            raise NotStrict(
                "bounds a string's length next to a pattern that cannot absorb the bound"
            )
        own_low, own_high = _count(match["count"])
        atom, low = match["atom"], max(low, own_low)
        high = own_high if high is None else high if own_high is None else min(high, own_high)
        if high is not None and low > high:
            raise NotStrict("admits no string: its length bounds and its pattern disagree")
    s["pattern"] = f"^{atom}{{{low},{'' if high is None else high}}}$"


def _strict_node(s: Schema) -> Schema:
    if s.get("type") == "object" and "properties" not in s:  # the first reason for **kwargs
        raise NotStrict("is a free-form object (no declared properties)")
    if not _IMPOSSIBLE.keys().isdisjoint(s):
        raise NotStrict(next(why for key, why in _IMPOSSIBLE.items() if key in s))
    if not _REWRITTEN.isdisjoint(s):
        s.pop("default", None)
        s.pop("examples", None)
        _length_pattern(s)
        if s.pop("uniqueItems", False):
            _note(s, "items must be unique")
        if "format" in s and s["format"] not in _FORMATS:
            _note(s, f"format: {s.pop('format')}")
        if "$ref" in s and len(s) > 1:
            s = {"anyOf": [{"$ref": s.pop("$ref")}], **s}
    if _TYPED.isdisjoint(s):
        raise NotStrict("accepts any value (no type)")
    if s.get("type") == "object":
        if "properties" not in s:
            raise NotStrict("is a free-form object (no declared properties)")
        if s.get("additionalProperties", False) is not False:
            raise NotStrict("allows keys beyond its declared properties (extra='allow')")
        s["additionalProperties"] = False
        s["required"] = list(s["properties"])
    return s


_NESTED = frozenset((list, dict))


def _sealed(s: Schema) -> Schema:
    """``s`` read-only: its sub-schemas are sealed already (shared), its other lists frozen.

    The strict schema is built read-only from the start: ``openai_schema()`` then shares it
    instead of copying it (``Tool.strict_parameters`` hands out plain copies).
    """
    if not _NESTED.isdisjoint(map(type, s.values())):
        for key, value in s.items():
            if value.__class__ is list or value.__class__ is dict:
                s[key] = freeze(value)
    return FrozenDict(s)


def _strict_sealed(s: Schema) -> Schema:
    return _sealed(_strict_node(s))


_NO_DEFAULT = object()
_NULL = FrozenDict(type="null")


def _nullable(s: Schema, default: Any = _NO_DEFAULT) -> Schema:
    """Wrap a converted, not yet sealed ``s`` so that ``null`` is accepted too (sealed)."""
    if default is _NO_DEFAULT:  # optional in a hand-written schema, with no default given
        text = "optional: send null to leave it out"
    else:
        text = f"default: {_dumps(default)}; send null to use the default"
    description = s.pop("description", None)
    any_of: list[Schema]
    if "anyOf" in s and len(s) == 1:
        any_of = s["anyOf"] if _NULL in s["anyOf"] else [*s["anyOf"], _NULL]
    else:
        any_of = [_sealed(s), _NULL]
    return FrozenDict(
        anyOf=freeze(any_of),
        description=f"{description} ({text})" if description else f"({text})",
    )


def _optional(s: Schema, default: Any) -> Schema:
    return _nullable(_strict_node(s), default)


def _convert(
    schema: Schema, where: str, top: Callable[[Schema], Schema] = _strict_sealed
) -> Schema:
    """``schema`` in strict form, read-only; ``top`` finishes ``schema`` itself once converted."""
    try:
        return map_schema(schema, _strict_sealed, before=_defaults_noted, top=top)
    except NotStrict as e:
        raise NotStrict(f"{where} {e}") from None


def _defaults_noted(s: Schema) -> Schema:
    """Name each nested default in the description: strict mode requires the field instead.

    Runs on a copy of ``s``, before its properties are converted (which drops the defaults).
    """
    props = s.get("properties")
    if props and any("default" in prop for prop in props.values()):
        s["properties"] = {k: _default_noted(v) if "default" in v else v for k, v in props.items()}
    return s


def _default_noted(prop: Schema) -> Schema:
    prop = dict(prop)
    _note(prop, f"default: {_dumps(prop['default'])}")
    return prop


def to_strict(parameters: Schema) -> Schema:
    """Return the strict variant of a tool's loose ``parameters`` schema, read-only.

    Raises:
        NotStrict: the schema cannot be strict; the message names the parameter and the reason.
    """
    props: dict[str, Schema] = parameters.get("properties", {})
    required = set(parameters.get("required", ()))
    out_props: dict[str, Schema] = {}
    for name, prop in props.items():
        where = f"parameter {name!r}"
        if name in required:
            out_props[name] = _convert(prop, where)
        else:
            default = prop.get("default", _NO_DEFAULT)
            out_props[name] = _convert(prop, where, functools.partial(_optional, default=default))
    out: Schema = {
        "type": "object",
        "properties": FrozenDict(out_props),
        "required": FrozenList(out_props),
        "additionalProperties": False,
    }
    defs = parameters.get("$defs")
    if defs:
        out["$defs"] = FrozenDict({k: _convert(v, f"model {k!r}") for k, v in defs.items()})
    return FrozenDict(out)
