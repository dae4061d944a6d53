"""From a Python function to the loose JSON schema of its parameters, with every problem found.

Schemas are assembled per parameter from a per-type cache, instead of building a pydantic model
per function just to ask it for a schema: a function whose parameter types were seen before
costs a docstring parse and a signature read. The validating model is built later, on first use
(see ``_arguments``).
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import PydanticUserError, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticSchemaGenerationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticSerializationError, PydanticUndefined, to_jsonable_python

from toolkit._docstring import DocstringStyle, parse_docstring
from toolkit._errors import SchemaError
from toolkit._injected import is_injected
from toolkit._jsonschema import Schema, clean
from toolkit._types import Generator, unhashable_set

__all__ = ["NAME_PATTERN", "FunctionSchema", "Param", "function_schema"]

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_REF_TEMPLATE = "#/$defs/{model}"
_NO_DEFAULT: Any = inspect.Parameter.empty
_ANNOTATED: Any = Annotated  # subscripted with a computed tuple of metadata
# ``isinstance(a, _ANNOTATED_ALIAS)`` is what ``get_origin(a) is Annotated`` checks, at a
# fraction of the cost (the common parameter is not ``Annotated`` and should pay nothing)
_ANNOTATED_ALIAS: Any = type(Annotated[int, ""])
_VAR_POSITIONAL = inspect.Parameter.VAR_POSITIONAL
_VAR_KEYWORD = inspect.Parameter.VAR_KEYWORD


@dataclass(frozen=True)
class Param:
    """One parameter the model fills."""

    name: str
    """The parameter's name, as in the signature and the schema."""
    annotation: Any
    """The type the model's value is validated against: the resolved annotation with its
    ``Annotated`` metadata (a ``Field(...)`` default's constraints folded in, its default taken
    out); ``list[T]`` for ``*args: T``, ``dict[str, T]`` for ``**kwargs: T``."""
    default: Any = _NO_DEFAULT
    """The default the schema shows, or ``inspect.Parameter.empty``."""
    kind: inspect._ParameterKind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    """How the function takes it (positional-only, ``*args``, ...)."""
    fill: Callable[[], Any] | None = None
    """Makes the value ``invoke`` passes when the model leaves the parameter out, where the
    function's own default would be wrong (a ``Field(...)`` default) or is missing (a default
    given only in ``Annotated[..., Field(default=...)]``)."""

    @property
    def has_default(self) -> bool:
        """Whether the parameter has a default (and so is optional for the model)."""
        return self.default is not _NO_DEFAULT or self.fill is not None


@dataclass(frozen=True)
class FunctionSchema:
    """Everything about a function that the model's side of a tool needs."""

    name: str
    """The tool's name."""
    description: str
    """The tool's description."""
    params: tuple[Param, ...]
    """Parameters the model fills, in signature order."""
    injected: tuple[str, ...]
    """Parameters the caller of ``invoke`` fills."""
    parameters: Schema
    """The loose JSON schema of ``params``."""


TypeInfo = tuple[Schema, Schema, "str | None"]
"""An annotation's schema, its ``$defs``, and why its values cannot be validated (or ``None``)."""


@functools.lru_cache(maxsize=1024)
def _cached_type_schema(annotation: Any) -> TypeInfo:
    return _type_schema(annotation)


def _type_schema(annotation: Any) -> TypeInfo:
    """Return ``(schema, $defs, problem)`` for one annotation."""
    adapter = TypeAdapter(annotation)
    schema = adapter.json_schema(ref_template=_REF_TEMPLATE, schema_generator=Generator)
    defs = schema.pop("$defs", {})
    cleaned = {key: clean(value) for key, value in defs.items()}
    return clean(schema), cleaned, unhashable_set(annotation)


_by_repr: dict[Any, TypeInfo] = {}


def _metadata_key(annotation: Any) -> Any:
    """A hashable key for ``Annotated[T, Field(...)]``, or ``None``.

    A ``FieldInfo`` is keyed by its repr, which names every attribute and constraint it sets
    (``Field(...)`` in a default is the common case: each function makes a new, unhashable one).
    """
    if not isinstance(annotation, _ANNOTATED_ALIAS):
        return None
    base, *metadata = get_args(annotation)
    if not any(isinstance(m, FieldInfo) for m in metadata):
        return None
    key = (base, *((type(m), repr(m)) if isinstance(m, FieldInfo) else m for m in metadata))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def type_schema(annotation: Any) -> TypeInfo:
    """Schema, ``$defs`` and problem of ``annotation``, cached per type (``Field``: by repr).

    The problem is a ``set`` of items that cannot be hashed (every non-empty value would be
    refused), found once per type like the schema.
    """
    key = _metadata_key(annotation)  # a FieldInfo hashes by identity: no use as a key
    if key is None:
        try:
            return _cached_type_schema(annotation)
        except TypeError:  # unhashable annotation
            return _type_schema(annotation)
    found = _by_repr.get(key)
    if found is None:
        if len(_by_repr) >= 1024:
            _by_repr.clear()
        found = _by_repr[key] = _type_schema(annotation)
    return found


def _annotation_description(annotation: Any) -> str | None:
    if not isinstance(annotation, _ANNOTATED_ALIAS):
        return None
    for meta in reversed(get_args(annotation)[1:]):
        if isinstance(meta, FieldInfo) and meta.description:
            return meta.description
    for meta in reversed(get_args(annotation)[1:]):
        if isinstance(meta, str):
            return meta
    return None


def _hints(fn: Callable[..., Any], sig: inspect.Signature) -> dict[str, Any]:
    """Resolve annotations; an unresolvable one stays a string (it may be injected)."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:
        pass
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    namespace = {**vars(module)} if module else {}
    namespace.update(getattr(fn, "__globals__", {}))
    hints: dict[str, Any] = {}
    for p in sig.parameters.values():
        ann = p.annotation
        if isinstance(ann, str):
            try:
                ann = eval(ann, namespace)
            except Exception:
                pass
        hints[p.name] = ann
    return hints


def _has_default(info: FieldInfo) -> bool:
    return info.default is not PydanticUndefined or info.default_factory is not None


def _without_default(info: FieldInfo) -> FieldInfo:
    """``info`` with its constraints and description, but no default.

    A default inside a type, as in ``Optional[Annotated[T, Field(default=...)]]``, is an error
    to pydantic; the default is the parameter's, kept beside it.
    """
    out = copy.copy(info)
    out.default, out.default_factory = PydanticUndefined, None
    out._attributes_set = {
        k: v for k, v in info._attributes_set.items() if k not in ("default", "default_factory")
    }
    return out


def _filler(info: FieldInfo) -> Callable[[], Any]:
    """Make the default of ``info`` afresh for each call (a mutable default is never shared)."""
    if info.default_factory is not None:
        return functools.partial(info.get_default, call_default_factory=True, validated_data={})
    return functools.partial(copy.deepcopy, info.default)


def _param(p: inspect.Parameter, annotation: Any) -> Param:
    """One parameter: a ``Field(...)`` in the default or in ``Annotated`` read as pydantic does."""
    kind, default = p.kind, p.default
    if kind is _VAR_POSITIONAL:
        return Param(p.name, list[annotation], (), kind)
    if kind is _VAR_KEYWORD:
        return Param(p.name, dict[str, annotation], {}, kind)
    if not isinstance(default, FieldInfo) and not isinstance(annotation, _ANNOTATED_ALIAS):
        return Param(p.name, annotation, default, kind)  # the common case: no Field to read
    field: FieldInfo | None = None
    if isinstance(default, FieldInfo):  # ``n: int = Field(..., gt=10)``
        field = default
        annotation = Annotated[annotation, _without_default(field)]
    else:  # ``n: Annotated[int, Field(default=5)]``
        base, *metadata = get_args(annotation)
        fields = [m for m in metadata if isinstance(m, FieldInfo) and _has_default(m)]
        if fields:
            field = fields[-1] if default is p.empty else None
            metadata = [_without_default(m) if any(m is f for f in fields) else m for m in metadata]
            args = (base, *metadata)
            annotation = _ANNOTATED[args]
    if field is None:
        return Param(p.name, annotation, default, kind)
    if not _has_default(field):
        return Param(p.name, annotation, kind=kind)
    value = _NO_DEFAULT if field.default_factory is not None else field.default
    return Param(p.name, annotation, value, kind, _filler(field))


def _default_json(default: Any) -> tuple[bool, Any]:
    try:
        return True, to_jsonable_python(default)
    except PydanticSerializationError:
        return False, None


def _joint_schemas(params: list[Param]) -> tuple[dict[str, Schema], Schema]:
    """Every parameter's schema from one pydantic pass, which keeps same-named types apart."""
    mode: Literal["validation"] = "validation"
    adapters = [(p.name, mode, TypeAdapter(p.annotation)) for p in params]
    by_key, defs = TypeAdapter.json_schemas(
        adapters, ref_template=_REF_TEMPLATE, schema_generator=Generator
    )
    schemas = {key[0]: clean(schema) for key, schema in by_key.items()}
    return schemas, {k: clean(v) for k, v in defs.get("$defs", {}).items()}


def _merge(defs: Schema, new: Schema) -> bool:
    """Add ``new`` to ``defs``; False if a name is taken by a different type."""
    for key, value in new.items():
        if defs.setdefault(key, value) != value:
            return False
    return True


def _param_schema(param: Param, description: str | None, schema: Schema) -> Schema:
    schema = dict(schema)
    if description:
        schema["description"] = description
    if param.has_default:
        ok, value = _default_json(param.default)
        if ok:
            schema["default"] = value
    return schema


def function_schema(  # noqa: C901 - the one long function: numbered steps
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    docstring_style: DocstringStyle = "auto",
    require_docs: bool = True,
) -> FunctionSchema:
    """Read ``fn`` into a ``FunctionSchema``, or raise one ``SchemaError`` listing every problem.

    ``require_docs=False`` accepts a function without a description or parameter descriptions,
    and maps ``*args: T`` to an array parameter and ``**kwargs: T`` to an object parameter.
    """
    problems: list[str] = []
    # 1. the name
    name = name or str(getattr(fn, "__name__", ""))
    if not NAME_PATTERN.match(name):
        problems.append(f"name {name!r} must match {NAME_PATTERN.pattern} (OpenAI's rule)")
    # 2. the docstring
    doc_problem = None
    try:
        doc = parse_docstring(getattr(fn, "__doc__", None), docstring_style)
    except ValueError as e:
        doc_problem, doc = str(e), parse_docstring(None)
    description = str(description or doc.description)
    if not description and require_docs:
        problems.append(
            "no description: write a docstring or pass description=... (or require_docs=False)"
        )
    if doc_problem:
        problems.append(doc_problem)
    # 3. the signature (a Field(...) default or Annotated[..., Field(default=...)] read here)
    sig = inspect.signature(fn)
    hints = _hints(fn, sig)
    params: list[Param] = []
    injected: list[str] = []
    for p in sig.parameters.values():
        annotation = hints.get(p.name, p.annotation)
        variadic = p.kind is _VAR_POSITIONAL or p.kind is _VAR_KEYWORD
        if variadic and require_docs:
            star = "*" if p.kind is _VAR_POSITIONAL else "**"
            problems.append(
                f"{star}{p.name}: variadic parameters need require_docs=False "
                "(then *args is an array and **kwargs an object)"
            )
        elif is_injected(p.name, annotation) and not variadic:
            injected.append(p.name)
        elif annotation is inspect.Parameter.empty:
            problems.append(f"parameter {p.name!r} has no type annotation")
        elif isinstance(annotation, str):
            problems.append(f"parameter {p.name!r}: cannot resolve annotation {annotation!r}")
        else:
            params.append(_param(p, annotation))
    # 4. documentation of each parameter
    for extra in doc.params.keys() - sig.parameters.keys():
        problems.append(f"docstring documents {extra!r}, which is not a parameter")
    # 5. each parameter's schema (per type, cached; jointly if two types share a name)
    defs: Schema = {}
    types: dict[str, Schema] = {}
    collided = False
    for param in params:
        try:
            types[param.name], new_defs, unhashable = type_schema(param.annotation)
            collided = collided or not _merge(defs, new_defs)
        except (PydanticSchemaGenerationError, PydanticInvalidForJsonSchema):
            problems.append(f"parameter {param.name!r}: unsupported type {param.annotation!r}")
            continue
        except PydanticUserError as e:
            problems.append(f"parameter {param.name!r}: {e.message}")
            continue
        if unhashable:
            problems.append(f"parameter {param.name!r}: {unhashable}")
    texts = {
        p.name: _annotation_description(p.annotation) or doc.params.get(p.name) for p in params
    }
    if require_docs:
        problems += [
            f"parameter {n!r} has no description (document it in Args:, with "
            "Field(description=...), or pass require_docs=False)"
            for n, text in texts.items()
            if not text
        ]
    if problems:
        raise SchemaError(f"function {name!r}", problems)
    if collided:
        types, defs = _joint_schemas(params)
    properties = {p.name: _param_schema(p, texts[p.name], types[p.name]) for p in params}
    # 6. the whole
    for param in params:  # **kwargs cannot repeat a named argument
        if param.kind is _VAR_KEYWORD:
            keywords = [
                n
                for n, p in sig.parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            if keywords:
                properties[param.name]["propertyNames"] = {"not": {"enum": keywords}}
    parameters: Schema = {
        "type": "object",
        "properties": properties,
        "required": [p.name for p in params if not p.has_default],
        "additionalProperties": False,
    }
    if defs:
        parameters["$defs"] = defs
    return FunctionSchema(name, description, tuple(params), tuple(injected), parameters)
