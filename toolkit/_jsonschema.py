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

__all__ = [
    "JSON_TYPES", "FrozenDict", "FrozenList", "children", "clean", "freeze", "resolve", "thaw",
    "unknown_keys",
]  # fmt: skip

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
_SCHEMA_KEYS = frozenset(_SCHEMA_MAPS + _SCHEMA_LISTS + _SCHEMA_VALUES)


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


def map_schema(
    schema: Schema,
    node: Callable[[Schema], Schema],
    before: Callable[[Schema], Schema] | None = None,
    top: Callable[[Schema], Schema] | None = None,
) -> Schema:
    """Rebuild ``schema`` bottom-up, applying ``node`` to every schema object in it.

    ``before``, if given, sees each object's shallow copy first, before its children are
    rebuilt (top-down): one pass where two would copy the whole tree twice. ``top``, if given,
    replaces ``node`` for ``schema`` itself (not for the objects inside it).
    """
    out = dict(schema) if before is None else before(dict(schema))
    if _SCHEMA_KEYS.isdisjoint(out):  # a leaf, the common node: nothing inside to rebuild
        return node(out) if top is None else top(out)
    for key in _SCHEMA_MAPS:
        if key in out:
            out[key] = {k: map_schema(v, node, before) for k, v in out[key].items()}
    for key in _SCHEMA_LISTS:
        if key in out:
            out[key] = [map_schema(v, node, before) for v in out[key]]
    for key in _SCHEMA_VALUES:
        if isinstance(out.get(key), dict):
            out[key] = map_schema(out[key], node, before)
    return node(out) if top is None else top(out)


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
    makes every object the schema closes reject them, whatever model type declared it. In a
    union, the branch ``data`` fits best (fewest unknown and missing keys) is the one named.
    """
    return [text for text, _ in _unknown(data, schema, root, path)]


def _unknown(data: Any, schema: Schema, root: Schema, path: str) -> list[tuple[str, int]]:
    """Each problem with its weight: how many keys are unknown (or, for ranking, missing)."""
    schema = resolve(schema, root)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if _admits_kind(data, resolve(b, root))]
        found = [_unknown(data, branch, root, path) for branch in branches]
        ranked = [
            (sum(w for _, w in f) + _missing(data, b, root), f)
            for f, b in zip(found, branches, strict=True)
        ]
        return min(ranked, key=lambda pair: pair[0], default=(0, []))[1]
    if isinstance(data, list):
        items = schema.get("items")
        prefix = schema.get("prefixItems", [])
        out: list[tuple[str, int]] = []
        for i, item in enumerate(data):
            sub = prefix[i] if i < len(prefix) else items
            if isinstance(sub, dict):
                out += _unknown(item, sub, root, f"{path}[{i}]")
        return out
    if not isinstance(data, dict) or schema.get("type") != "object":
        return []
    props: dict[str, Schema] = schema.get("properties", {})
    out = []
    if schema.get("additionalProperties") is False:
        extra = [k for k in data if k not in props]
        if extra:
            where = f"in {path!r}: " if path else ""
            allowed = ", ".join(props) or "none"
            keys = ", ".join(map(repr, extra))
            out.append((f"{where}unknown key(s) {keys}; allowed: {allowed}", len(extra)))
    for key, value in data.items():
        if key in props:
            out += _unknown(value, props[key], root, f"{path}.{key}" if path else key)
    return out


def _missing(data: Any, schema: Schema, root: Schema) -> int:
    """How many required keys of ``schema`` an object ``data`` lacks (0 for anything else)."""
    schema = resolve(schema, root)
    if not isinstance(data, dict):
        return 0
    return sum(1 for key in schema.get("required", ()) if key not in data)


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(
        "this schema is read-only (the tool validates with it); use copy.deepcopy(...) to edit"
    )


class FrozenDict(dict[str, Any]):
    """A JSON object that refuses changes; ``copy.deepcopy`` and pickling give a plain dict."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {k: thaw(v) for k, v in self.items()}

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (thaw(self),))


class FrozenList(list[Any]):
    """A JSON array that refuses changes; ``copy.deepcopy`` and pickling give a plain list."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = _read_only
    clear = sort = reverse = __iadd__ = __imul__ = _read_only

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [thaw(v) for v in self]

    def __copy__(self) -> list[Any]:
        return list(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (thaw(self),))


def freeze(value: Any) -> Any:
    """A read-only deep copy of a JSON value (frozen parts are shared, not copied)."""
    kind = value.__class__
    if kind is dict:
        return FrozenDict({k: freeze(v) if isinstance(v, _NESTED) else v for k, v in value.items()})
    if kind is list:
        return FrozenList([freeze(v) if isinstance(v, _NESTED) else v for v in value])
    if kind is FrozenDict or kind is FrozenList or not isinstance(value, _NESTED):
        return value
    return freeze(dict(value) if isinstance(value, dict) else list(value))


_NESTED = (dict, list)  # only these are copied: every other JSON value is immutable


def thaw(value: Any) -> Any:
    """A plain, mutable deep copy of a JSON value (frozen or not)."""
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value
