"""Turning the model's arguments into keyword arguments, or into a message saying what to fix.

Two binders share one contract, ``bind(arguments) -> dict | str``: a dict of keyword arguments
on success, else the error text for the model. ``PydanticArguments`` serves functions (pydantic
validates the JSON text directly, with no ``json.loads`` first); ``SchemaArguments`` serves
hand-written schemas (a compiled ``jsonschema`` validator).
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
from typing import Any, Optional

import jsonschema
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.plugin._schema_validator import PluggableSchemaValidator
from pydantic_core import ErrorDetails, SchemaValidator
from typing_extensions import NotRequired, TypedDict

from toolkit._errors import SchemaError
from toolkit._jsonschema import Schema, unknown_keys
from toolkit._schema import FunctionSchema

__all__ = ["PydanticArguments", "SchemaArguments", "parse_json_object", "preview"]

Bound = dict[str, Any] | str
_CONTAINER_ERRORS = {
    "list_type", "tuple_type", "set_type", "frozen_set_type", "dict_type",
    "model_type", "model_attributes_type", "dataclass_type", "dataclass_exact_type",
}  # fmt: skip
_MAX_ERRORS = 4


def preview(value: Any, limit: int = 60) -> str:
    """A short ``repr``-like view of what the model sent."""
    try:
        text = (
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        )
    except (RecursionError, ValueError):
        text = f"<{type(value).__name__}>"
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def parse_json_object(arguments: str | dict[str, Any]) -> dict[str, Any] | str:
    """Decode the model's arguments into a dict, or return what is wrong with them."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        return f"arguments must be a JSON object, got {type(arguments).__name__}"
    if not arguments.strip():
        return {}
    try:
        data = json.loads(arguments)
    except json.JSONDecodeError as e:
        return f"arguments are not valid JSON ({e.msg} at char {e.pos}): {preview(arguments)}"
    except RecursionError:
        return f"arguments are nested too deeply: {preview(arguments)}"
    if not isinstance(data, dict):
        kind = "array" if isinstance(data, list) else type(data).__name__
        return f"arguments must be a JSON object, got {kind}: {preview(arguments)}"
    return data


def _decode_nested(data: Any, errors: list[ErrorDetails]) -> bool:
    """Decode JSON text the model sent where an object or array belongs; True if any was."""
    changed = False
    for error in errors:
        text = error.get("input")
        if error["type"] not in _CONTAINER_ERRORS or not isinstance(text, str):
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, (dict, list)):
            changed |= _set_at(data, error["loc"], value)
    return changed


def _set_at(data: Any, loc: tuple[int | str, ...], value: Any) -> bool:
    *parents, last = [step for step in loc if not isinstance(step, str) or step]
    target = data
    for step in parents:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            continue  # a union branch's tag, not a real step
    try:
        target[last] = value
    except (IndexError, TypeError):
        return False
    return True


def _explain(error: ErrorDetails) -> str:
    loc = ".".join(str(step) for step in error["loc"])
    if error["type"] == "json_invalid":
        return f"arguments are not valid JSON ({error['msg']})"
    if error["type"] == "missing":
        return f"missing required argument {loc!r}"
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        *parent, key = [str(step) for step in error["loc"]]
        if parent:
            return f"in {'.'.join(parent)!r}: unknown key {key!r}"
        return f"unknown argument {key!r}"
    return f"argument {loc!r}: {error['msg']}, got {preview(error.get('input'))}"


def _explain_all(explained: list[str], allowed: list[str]) -> str:
    if len(explained) > _MAX_ERRORS:
        explained = [*explained[:_MAX_ERRORS], f"and {len(explained) - _MAX_ERRORS} more"]
    text = "; ".join(explained)
    if "unknown argument" in text or "missing required" in text:
        text += f" (arguments: {', '.join(allowed) or 'none'})"
    return text


class PydanticArguments:
    """Binds arguments for a function tool with a pydantic validator built on first use.

    The validator is a ``TypedDict`` of the parameters (unknown keys forbidden), so pydantic
    reads the JSON text straight into the keyword-argument dict; a parameter left out, or sent
    as ``null`` when it has a default, is not passed, and the function's own default applies.
    """

    def __init__(self, schema: FunctionSchema) -> None:
        self._schema = schema
        self._names = [p.name for p in schema.params]
        self._defaulted = frozenset(p.name for p in schema.params if p.has_default)
        properties = schema.parameters["properties"]
        self._nested = "$defs" in schema.parameters or any(
            "properties" in s or "items" in s or "anyOf" in s for s in properties.values()
        )
        self._spread: str | None = None
        """The ``**kwargs`` parameter, whose keys must not repeat a named argument."""
        self._named: frozenset[str] = frozenset()
        for p in schema.params:
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                self._spread = p.name
                names = properties.get(p.name, {}).get("propertyNames", {})
                self._named = frozenset(names.get("not", {}).get("enum", ()))
                break

    @functools.cached_property
    def validator(self) -> SchemaValidator | PluggableSchemaValidator:
        """The validator: a ``TypedDict`` with one key per parameter."""
        fields: dict[str, Any] = {
            p.name: NotRequired[Optional[p.annotation]] if p.has_default else p.annotation
            for p in self._schema.params
        }
        make: Any = TypedDict  # the functional form: any parameter name is a valid key
        shape = make(f"{self._schema.name}_arguments", fields)
        shape.__pydantic_config__ = ConfigDict(extra="forbid")
        return TypeAdapter(shape).validator

    def bind(self, arguments: str | dict[str, Any]) -> Bound:
        """Validate ``arguments``: keyword arguments, or the text of what is wrong."""
        try:
            if isinstance(arguments, str):
                empty = not arguments or arguments.isspace()
                kwargs = self.validator.validate_json("{}" if empty else arguments)
            else:
                kwargs = self.validator.validate_python(arguments)
        except ValidationError as e:
            return self._retry(arguments, e)
        if self._nested:
            problem = self._unknown_keys(arguments)
            if problem:
                return problem
        if self._named and kwargs.get(self._spread):
            clash = sorted(self._named.intersection(kwargs[self._spread]))
            if clash:
                keys = ", ".join(map(repr, clash))
                return f"argument {self._spread!r}: key(s) {keys} are named arguments; send them so"
        if None in kwargs.values():  # null for a parameter with a default: use the default
            for name in self._defaulted.intersection(kwargs):
                if kwargs[name] is None:
                    del kwargs[name]
        return kwargs  # type: ignore[no-any-return]

    @property
    def direct(self) -> bool:
        """Whether valid arguments may skip ``bind``: no nested object to check for unknown keys."""
        return not (self._nested or self._named)

    def _retry(self, arguments: str | dict[str, Any], error: ValidationError) -> Bound:
        data = parse_json_object(arguments)
        if isinstance(data, str):
            return data
        data = json.loads(json.dumps(data, default=str)) if data is arguments else data
        if _decode_nested(data, error.errors()):
            try:
                self.validator.validate_python(data)
            except ValidationError as e:
                error = e
            else:
                return self.bind(data)
        return _explain_all([_explain(e) for e in error.errors()], self._names)

    def _unknown_keys(self, arguments: str | dict[str, Any]) -> str | None:
        data = parse_json_object(arguments)
        root = self._schema.parameters
        found = unknown_keys(data, root, root) if isinstance(data, dict) else []
        return "; ".join(found) or None


class SchemaArguments:
    """Binds arguments for a tool with a hand-written JSON schema, checked by ``jsonschema``."""

    def __init__(self, name: str, parameters: Schema) -> None:
        parameters = copy.deepcopy(parameters)  # the caller's dict may change later; not ours
        cls = jsonschema.validators.validator_for(
            parameters, default=jsonschema.Draft202012Validator
        )
        try:
            cls.check_schema(parameters)
        except jsonschema.SchemaError as e:
            raise SchemaError(f"schema of tool {name!r}", [e.message]) from None
        self._validator = cls(parameters)
        self._properties: dict[str, Schema] = parameters.get("properties", {})
        self._required = set(parameters.get("required", ()))

    def bind(self, arguments: str | dict[str, Any]) -> Bound:
        """Validate ``arguments``: keyword arguments, or the text of what is wrong."""
        data = parse_json_object(arguments)
        if isinstance(data, str):
            return data
        data = dict(data)
        for key, value in list(data.items()):  # null for an optional parameter: its default
            if value is None and key in self._properties and key not in self._required:
                if "default" in self._properties[key]:
                    data[key] = self._properties[key]["default"]
                else:
                    del data[key]
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.path))
        if not errors:
            return data
        explained = [self._explain(e) for e in errors]
        return _explain_all(explained, list(self._properties))

    @staticmethod
    def _explain(error: jsonschema.ValidationError) -> str:
        loc = ".".join(str(step) for step in error.path)
        if error.validator == "required":
            return f"missing required argument: {error.message}"
        if error.validator == "additionalProperties" and not loc:
            return f"unknown argument: {error.message}"
        where = f"argument {loc!r}" if loc else "arguments"
        return f"{where}: {error.message}"
