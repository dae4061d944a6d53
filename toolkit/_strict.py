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

import json
import re
from typing import Any

from toolkit._jsonschema import Schema, map_schema

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
_TYPED = ("type", "$ref", "anyOf", "enum")


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
    for key, why in _IMPOSSIBLE.items():
        if key in s:
            raise NotStrict(why)
    s.pop("default", None)
    s.pop("examples", None)
    _length_pattern(s)
    if s.pop("uniqueItems", False):
        _note(s, "items must be unique")
    if "format" in s and s["format"] not in _FORMATS:
        _note(s, f"format: {s.pop('format')}")
    if "$ref" in s and len(s) > 1:
        s = {"anyOf": [{"$ref": s.pop("$ref")}], **s}
    if not any(k in s for k in _TYPED):
        raise NotStrict("accepts any value (no type)")
    if s.get("type") == "object":
        if "properties" not in s:
            raise NotStrict("is a free-form object (no declared properties)")
        if s.get("additionalProperties", False) is not False:
            raise NotStrict("allows keys beyond its declared properties (extra='allow')")
        s["additionalProperties"] = False
        s["required"] = list(s["properties"])
    return s


_NO_DEFAULT = object()


def _nullable(s: Schema, default: Any = _NO_DEFAULT) -> Schema:
    if default is _NO_DEFAULT:  # optional in a hand-written schema, with no default given
        text = "optional: send null to leave it out"
    else:
        text = f"default: {_dumps(default)}; send null to use the default"
    description = s.pop("description", None)
    out: Schema
    if "anyOf" in s and len(s) == 1:
        out = s if {"type": "null"} in s["anyOf"] else {"anyOf": [*s["anyOf"], {"type": "null"}]}
    else:
        out = {"anyOf": [s, {"type": "null"}]}
    out["description"] = f"{description} ({text})" if description else f"({text})"
    return out


def _convert(schema: Schema, where: str) -> Schema:
    try:
        return map_schema(schema, _strict_node, before=_defaults_noted)
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
    """Return the strict variant of a tool's loose ``parameters`` schema.

    Raises:
        NotStrict: the schema cannot be strict; the message names the parameter and the reason.
    """
    props: dict[str, Schema] = parameters.get("properties", {})
    required = set(parameters.get("required", ()))
    out_props: dict[str, Schema] = {}
    for name, prop in props.items():
        converted = _convert(prop, f"parameter {name!r}")
        if name not in required and "default" in prop:
            converted = _nullable(converted, prop["default"])
        elif name not in required:
            converted = _nullable(converted)
        out_props[name] = converted
    out: Schema = {
        "type": "object",
        "properties": out_props,
        "required": list(out_props),
        "additionalProperties": False,
    }
    defs = parameters.get("$defs")
    if defs:
        out["$defs"] = {k: _convert(v, f"model {k!r}") for k, v in defs.items()}
    return out
