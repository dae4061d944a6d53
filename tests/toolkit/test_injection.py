"""Injected parameters: filled by the caller of ``invoke``, never seen or set by the model."""

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from toolkit import Injected, InjectionError, Tool, ToolSet, tool

SECRET = "s3cr3t-token-value"


class Session:
    def __init__(self, user: str) -> None:
        self.user = user

    def __repr__(self) -> str:
        return f"Session({SECRET})"


@tool
def whoami(greeting: str, agent_state: "AgentState", session: Injected[Session]) -> str:  # noqa: F821
    """Say who the user is.

    Args:
        greeting: How to greet.
    """
    return f"{greeting} {session.user} {agent_state['turn']}"


def assert_not_in_schemas(t: Tool[..., Any], *names: str) -> None:
    for schema in (t.parameters, t.strict_parameters, t.openai_schema()):
        assert schema is not None
        for name in names:
            assert name not in str(schema)


def test_injected_parameters_are_never_in_either_schema() -> None:
    assert whoami.injected == ("agent_state", "session")
    assert list(whoami.parameters["properties"]) == ["greeting"]
    assert whoami.parameters["required"] == ["greeting"]
    assert whoami.strict_parameters is not None
    assert list(whoami.strict_parameters["properties"]) == ["greeting"]
    assert_not_in_schemas(whoami, "agent_state", "session", "AgentState", "Session")


def test_invoke_fills_injected_values() -> None:
    result = whoami.invoke({"greeting": "hi"}, agent_state={"turn": 3}, session=Session("ann"))
    assert result.status == "success", result.content
    assert result.content == "hi ann 3"


async def test_ainvoke_fills_injected_values() -> None:
    result = await whoami.ainvoke(
        '{"greeting": "yo"}', agent_state={"turn": 1}, session=Session("b")
    )
    assert result.content == "yo b 1"


def test_missing_injected_value_raises() -> None:
    with pytest.raises(InjectionError, match=r"tool 'whoami'.*'session'"):
        whoami.invoke({"greeting": "hi"}, agent_state={"turn": 3})
    with pytest.raises(InjectionError, match=r"'agent_state', 'session'"):
        whoami.invoke({"greeting": "hi"})


async def test_missing_injected_value_raises_in_ainvoke() -> None:
    with pytest.raises(InjectionError, match=r"'agent_state'"):
        await whoami.ainvoke({"greeting": "hi"}, session=Session("x"))


def test_injection_error_is_a_type_error() -> None:
    assert issubclass(InjectionError, TypeError)


@pytest.mark.parametrize("key", ["agent_state", "session"])
def test_model_cannot_set_an_injected_parameter(key: str) -> None:
    arguments = {"greeting": "hi", key: {"turn": 99}}
    result = whoami.invoke(arguments, agent_state={"turn": 3}, session=Session("ann"))
    assert result.status == "error"
    assert f"unknown argument '{key}'" in result.content
    assert "'whoami'" in result.content


@pytest.mark.parametrize(
    "arguments",
    [
        {"greeting": 5},
        {"greeting": "hi", "extra": 1},
        {},
        '{"greeting": ',
        {"greeting": "hi", "session": "x"},
    ],
)
def test_injected_values_never_appear_in_error_text(arguments: Any) -> None:
    state = {"turn": SECRET}
    result = whoami.invoke(arguments, agent_state=state, session=Session(SECRET))
    assert result.status == "error"
    assert SECRET not in result.content


def test_toolset_passes_only_the_injected_values_a_tool_declares() -> None:
    @tool
    def plain(n: int) -> int:
        """Return n.

        Args:
            n: A number.
        """
        return n

    tools = ToolSet([whoami, plain])
    extra = {"agent_state": {"turn": 1}, "session": Session("c")}
    assert tools.invoke("plain", {"n": 4}, **extra).content == "4"
    assert tools.invoke("whoami", {"greeting": "hey"}, **extra).content == "hey c 1"


def _import(tmp_path: Path, name: str, code: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_future_annotations_module(tmp_path: Path) -> None:
    module = _import(
        tmp_path,
        "injection_future_module",
        '''
        from __future__ import annotations

        from typing import TYPE_CHECKING

        from toolkit import Injected, tool

        if TYPE_CHECKING:
            from somewhere import AgentState, Hidden


        class Ctx:
            user = "dana"


        @tool
        def act(count: int, agent_state: AgentState, ctx: Injected[Ctx], hidden: Injected[Hidden],
                tags: list[str] | None = None) -> str:
            """Act.

            Args:
                count: How many.
                tags: Tags.
            """
            return f"{count} {ctx.user} {agent_state} {hidden} {tags}"
        ''',
    )
    act = module.act
    assert act.injected == ("agent_state", "ctx", "hidden")
    assert list(act.parameters["properties"]) == ["count", "tags"]
    assert act.parameters["properties"]["tags"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert_not_in_schemas(act, "agent_state", "ctx", "hidden")
    result = act.invoke('{"count": 2}', agent_state="S", ctx=module.Ctx(), hidden="H")
    assert result.content == "2 dana S H None"
    with pytest.raises(InjectionError, match=r"'hidden'"):
        act.invoke('{"count": 2}', agent_state="S", ctx=module.Ctx())


def test_from_source_with_future_annotations() -> None:
    t = Tool.from_source(
        '''
        from __future__ import annotations

        def remember(fact: str, agent_state: AgentState) -> str:
            """Remember a fact.

            Args:
                fact: The fact.
            """
            agent_state.append(fact)
            return "ok"
        '''
    )
    assert t.injected == ("agent_state",)
    assert list(t.parameters["properties"]) == ["fact"]
    memory: list[str] = []
    assert t.invoke({"fact": "sky is blue"}, agent_state=memory).content == "ok"
    assert memory == ["sky is blue"]
