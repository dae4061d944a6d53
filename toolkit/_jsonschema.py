"""Walking JSON schemas: the clean-up every tool schema gets, and an unknown-key check.

pydantic writes schemas for validation; OpenAI reads them as instructions. The clean-up removes
what is noise to a model (``title``), uses only keywords OpenAI accepts (``oneOf`` becomes
``anyOf``, ``const`` becomes a one-value ``enum``), gives every ``enum`` its JSON type, and writes
``additionalProperties: false`` on every object with declared properties, because that is what
validation enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["JSON_TYPES", "children", "clean", "resolve", "unknown_keys"]

Schema = dict[str, Any]

JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
}
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def children(schema: Schema) -> Iterator[tuple[str, Schema]]:
    """Yield ``(path step, sub-schema)`` for every schema directly inside ``schema``."""
    for key in _SCHEMA_MAPS:
        for name, sub in schema.get(key, {}).items():
            yield (name if key == "properties" else f"{key}.{name}"), sub
    for key in _SCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key, ())):
            yield f"{key}[{i}]", sub
    for key in _SCHEMA_VALUES:
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield key, sub


def map_schema(schema: Schema, node: Callable[[Schema], Schema]) -> Schema:
    """Rebuild ``schema`` bottom-up, applying ``node`` to every schema object in it."""
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if key in out:
            out[key] = {k: map_schema(v, node) for k, v in out[key].items()}
    for key in _SCHEMA_LISTS:
        if key in out:
            out[key] = [map_schema(v, node) for v in out[key]]
    for key in _SCHEMA_VALUES:
        if isinstance(out.get(key), dict):
            out[key] = map_schema(out[key], node)
    return node(out)


def _json_type(values: list[Any]) -> str | list[str]:
    kinds = sorted({JSON_TYPES.get(type(v), "string") for v in values})
    return kinds[0] if len(kinds) == 1 else kinds


def _clean_node(s: Schema) -> Schema:
    s.pop("title", None)
    s.pop("discriminator", None)
    if "oneOf" in s:
        s["anyOf"] = s.pop("oneOf")
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "enum" in s and "type" not in s:
        s["type"] = _json_type(s["enum"])
    if "properties" in s and "additionalProperties" not in s:
        s["additionalProperties"] = False
    return s


def clean(schema: Schema) -> Schema:
    """Return ``schema`` cleaned for OpenAI (see the module docstring); the input is untouched."""
    return map_schema(schema, _clean_node)


def resolve(schema: Schema, root: Schema) -> Schema:
    """Follow a local ``$ref`` (``#/$defs/Name`` or ``#``) to the schema it names."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Any = root
    for part in ref.lstrip("#").strip("/").split("/"):
        if part:
            target = target[part]
    return resolve(target, root)


def _admits_kind(data: Any, schema: Schema) -> bool:
    """Whether ``schema`` could hold a value of ``data``'s kind (object, array, or scalar)."""
    if "anyOf" in schema:
        return True
    kind = schema.get("type")
    if isinstance(data, dict):
        return kind == "object" or "properties" in schema
    if isinstance(data, list):
        return kind == "array"
    return kind not in ("object", "array")


def unknown_keys(data: Any, schema: Schema, root: Schema, path: str = "") -> list[str]:
    """Describe every object key in ``data`` that ``schema`` forbids (``additionalProperties``).

    pydantic ignores unknown keys in nested models unless each model forbids them; this check
    makes every object the schema closes reject them, whatever model type declared it.
    """
    schema = resolve(schema, root)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if _admits_kind(data, resolve(b, root))]
        problems = [unknown_keys(data, branch, root, path) for branch in branches]
        return min(problems, key=len, default=[])
    if isinstance(data, list):
        items = schema.get("items")
        prefix = schema.get("prefixItems", [])
        found: list[str] = []
        for i, item in enumerate(data):
            sub = prefix[i] if i < len(prefix) else items
            if isinstance(sub, dict):
                found += unknown_keys(item, sub, root, f"{path}[{i}]")
        return found
    if not isinstance(data, dict) or schema.get("type") != "object":
        return []
    props: dict[str, Schema] = schema.get("properties", {})
    found = []
    if schema.get("additionalProperties") is False:
        extra = [k for k in data if k not in props]
        if extra:
            where = f"in {path!r}: " if path else ""
            allowed = ", ".join(props) or "none"
            found.append(f"{where}unknown key(s) {', '.join(map(repr, extra))}; allowed: {allowed}")
    for key, value in data.items():
        if key in props:
            found += unknown_keys(value, props[key], root, f"{path}.{key}" if path else key)
    return found
