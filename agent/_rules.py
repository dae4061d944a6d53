"""Tool rules: which tools a model may call next in a turn, as Letta's tool rules say.

The rules are data (``InitToolRule``, ``ChildToolRule``, ...; a ``ToolRule`` is any of them,
told apart by ``type``). ``Rules`` applies an agent's rules to the progress of one turn: the
engine offers only the tools allowed next (forcing the one tool when only one is), and a call
the model makes anyway is refused with a tool error that says what may be called instead.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

__all__ = [
    "ChildToolRule",
    "ConditionalToolRule",
    "InitToolRule",
    "MaxCountPerStepToolRule",
    "Progress",
    "RequiresApprovalToolRule",
    "Rules",
    "TerminalToolRule",
    "ToolRule",
    "check_rules",
    "dump_rules",
    "load_rules",
    "parse_rules",
]

SEND_MESSAGE = "send_message"


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tool_name: str
    """The tool the rule is about."""


class InitToolRule(_Rule):
    """Run this tool first in every turn (several: one of them first)."""

    type: Literal["run_first"] = "run_first"


class ChildToolRule(_Rule):
    """After this tool succeeds, only ``children`` may be called next."""

    type: Literal["constrain_child_tools"] = "constrain_child_tools"
    children: list[str]
    """The tools allowed next."""


class ConditionalToolRule(_Rule):
    """After this tool succeeds, the tool called next depends on its result.

    The result is matched against the keys of ``child_output_mapping`` (as text, and as JSON
    when both parse: ``True``, ``"true"`` and ``true`` are the same key).
    """

    type: Literal["conditional"] = "conditional"
    child_output_mapping: dict[str, str]
    """Result -> the one tool allowed next."""
    default_child: str | None = None
    """The tool allowed next when no key matches (``None``: any tool)."""
    require_output_mapping: bool = False
    """When no key matches and there is no default: only ``send_message``, not any tool."""

    @field_validator("child_output_mapping", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k if isinstance(k, str) else json.dumps(k): v for k, v in value.items()}
        return value


class MaxCountPerStepToolRule(_Rule):
    """Call this tool at most ``max_count_limit`` times in one turn."""

    type: Literal["max_count_per_step"] = "max_count_per_step"
    max_count_limit: int
    """The most calls per turn (at least 1)."""


class TerminalToolRule(_Rule):
    """A successful call of this tool ends the turn, as ``send_message`` does."""

    type: Literal["exit_loop"] = "exit_loop"


class RequiresApprovalToolRule(_Rule):
    """The turn stops before this tool runs, until a person approves or denies the call."""

    type: Literal["requires_approval"] = "requires_approval"


ToolRule = Annotated[
    InitToolRule
    | ChildToolRule
    | ConditionalToolRule
    | MaxCountPerStepToolRule
    | TerminalToolRule
    | RequiresApprovalToolRule,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[ToolRule] = TypeAdapter(ToolRule)
_LIST: TypeAdapter[list[ToolRule]] = TypeAdapter(list[ToolRule])


def parse_rules(rules: Iterable[Any], problems: list[str]) -> list[ToolRule]:
    """Rules from models or dicts; each invalid one adds a line to ``problems``."""
    if isinstance(rules, str | bytes | Mapping):
        problems.append(f"tool_rules must be a list of rules, got {type(rules).__name__}")
        return []
    parsed: list[ToolRule] = []
    for i, rule in enumerate(rules):
        try:
            parsed.append(_ADAPTER.validate_python(rule))
        except ValidationError as e:
            problems += [
                f"tool_rules[{i}]: {'.'.join(map(str, x['loc'])) or 'rule'}: {x['msg']}"
                for x in e.errors()
            ]
    return parsed


def check_rules(rules: Sequence[ToolRule], tools: Sequence[str]) -> list[str]:
    """Every problem with ``rules`` for an agent whose tools are ``tools``."""
    problems: list[str] = []
    known = set(tools)
    led: set[str] = set()
    for i, rule in enumerate(rules):
        where = f"tool_rules[{i}] ({rule.type})"
        named = [rule.tool_name, *_children(rule)]
        problems += [
            f"{where}: unknown tool {n!r}; the agent's tools: {', '.join(tools) or 'none'}"
            for n in dict.fromkeys(named)
            if n not in known
        ]
        if isinstance(rule, MaxCountPerStepToolRule) and rule.max_count_limit < 1:
            problems.append(f"{where}: max_count_limit must be at least 1, got "
                            f"{rule.max_count_limit}")  # fmt: skip
        if isinstance(rule, ChildToolRule | ConditionalToolRule):
            if rule.tool_name in led:
                problems.append(f"{where}: {rule.tool_name!r} already has a rule for what follows")
            led.add(rule.tool_name)
        if isinstance(rule, ChildToolRule) and not rule.children:
            problems.append(f"{where}: children is empty")
        if isinstance(rule, ConditionalToolRule) and not rule.child_output_mapping:
            problems.append(f"{where}: child_output_mapping is empty")
        if isinstance(rule, RequiresApprovalToolRule) and rule.tool_name == SEND_MESSAGE:
            problems.append(f"{where}: send_message cannot require approval")
    return problems


def _children(rule: ToolRule) -> list[str]:
    if isinstance(rule, ChildToolRule):
        return rule.children
    if isinstance(rule, ConditionalToolRule):
        default = [rule.default_child] if rule.default_child else []
        return [*rule.child_output_mapping.values(), *default]
    return []


def dump_rules(rules: Sequence[ToolRule]) -> list[dict[str, Any]]:
    """Rules as stored (JSON)."""
    return [rule.model_dump() for rule in rules]


def load_rules(stored: Any) -> list[ToolRule]:
    """Rules as ``dump_rules`` stored them."""
    return _LIST.validate_python(stored or [])


@dataclass
class Progress:
    """What a turn did so far, as far as the rules care."""

    last: tuple[str, str] | None = None
    """The last call that succeeded: the tool's name and its result."""
    counts: Counter[str] = field(default_factory=Counter)
    """Calls run per tool (refused calls do not count)."""


def _canonical(text: str) -> str:
    text = text.strip()
    text = {"True": "true", "False": "false", "None": "null"}.get(text, text)
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except (ValueError, RecursionError):
        return text


class Rules:
    """An agent's rules over its tools (a rule naming a tool the agent lacks is ignored)."""

    def __init__(self, rules: Sequence[ToolRule], tools: Sequence[str]) -> None:
        self.tools = list(tools)
        self.init = [r.tool_name for r in rules if isinstance(r, InitToolRule)]
        self.follow = {
            r.tool_name: r for r in rules if isinstance(r, ChildToolRule | ConditionalToolRule)
        }
        self.limits = {
            r.tool_name: r.max_count_limit for r in rules if isinstance(r, MaxCountPerStepToolRule)
        }
        self.terminal = {r.tool_name for r in rules if isinstance(r, TerminalToolRule)}
        self.approval = {r.tool_name for r in rules if isinstance(r, RequiresApprovalToolRule)}
        self.active = bool(self.init or self.follow or self.limits)
        """Whether any rule limits what may be called."""

    def allowed(self, progress: Progress) -> list[str]:
        """The tools that may be called next, in the agent's order."""
        names = self._next(progress)
        names = [
            n for n in names if progress.counts[n] < self.limits.get(n, progress.counts[n] + 1)
        ]
        if names:
            return names
        if SEND_MESSAGE in self.tools:  # nothing else is allowed: the model can still reply
            return [SEND_MESSAGE]
        return self.tools

    def _next(self, progress: Progress) -> list[str]:
        if progress.last is None:
            chosen = set(self.init) if any(n in self.tools for n in self.init) else None
        else:
            chosen = self._children(*progress.last)
        return self.tools if chosen is None else [n for n in self.tools if n in chosen]

    def _children(self, name: str, result: str) -> set[str] | None:
        rule = self.follow.get(name)
        if isinstance(rule, ChildToolRule):
            return set(rule.children)
        if rule is None:
            return None
        found = _canonical(result)
        for key, child in rule.child_output_mapping.items():
            if _canonical(key) == found:
                return {child}
        if rule.default_child:
            return {rule.default_child}
        return {SEND_MESSAGE} if rule.require_output_mapping else None

    def refusal(self, progress: Progress, name: str) -> str | None:
        """Why ``name`` may not be called now (a tool error for the model), or ``None``."""
        if not self.active or name not in self.tools:
            return None  # an unknown tool is reported by the tool set
        allowed = self.allowed(progress)
        if name in allowed:
            return None
        limit = self.limits.get(name)
        if limit is not None and progress.counts[name] >= limit:
            why = f"it was already called {limit} time(s) this turn, its limit"
        elif progress.last is None:
            why = f"the turn must start with {' or '.join(self.init)}"
        else:
            why = f"it may not follow {progress.last[0]}"
        return (
            f"Error: {name} was not run: the tool rules forbid it now ({why}). "
            f"Call {' or '.join(allowed)} instead."
        )

    def choice(self, allowed: list[str], force: bool) -> str:
        """``tool_choice``: the one allowed tool, else ``send_message`` when forced."""
        if len(allowed) == 1 and self.active:
            return allowed[0]
        return SEND_MESSAGE if force and SEND_MESSAGE in allowed else "required"

    def ran(self, progress: Progress, name: str, ok: bool, result: str) -> None:
        """Advance ``progress`` past a call that ran."""
        progress.counts[name] += 1
        if ok:
            progress.last = (name, result)
