"""``ToolSet``: the registry of tools an agent can call."""

import pytest

from toolkit import SchemaError, Tool, ToolSet, tool


def make(name: str) -> Tool[..., str]:
    def echo(text: str = "") -> str:
        """Echo a text.

        Args:
            text: The text.
        """
        return f"{name}:{text}"

    return tool(name=name)(echo)


def test_empty() -> None:
    tools = ToolSet()
    assert len(tools) == 0
    assert list(tools) == []
    assert tools.openai_schemas() == []


def test_add_lookup_contains_len_and_order() -> None:
    a, b, c = make("a"), make("b"), make("c")
    tools = ToolSet([b, a])
    tools.add(c)
    assert len(tools) == 3
    assert list(tools) == [b, a, c]
    assert tools["a"] is a
    assert "c" in tools
    assert "d" not in tools
    with pytest.raises(KeyError):
        tools["d"]


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(SchemaError, match=r"duplicate tool name 'a'"):
        ToolSet([make("a"), make("a")])
    tools = ToolSet([make("a")])
    with pytest.raises(SchemaError, match=r"duplicate tool name 'a'"):
        tools.add(make("a"))
    assert len(tools) == 1


def test_select() -> None:
    a, b, c = make("a"), make("b"), make("c")
    tools = ToolSet([a, b, c])
    subset = tools.select(["c", "a"])
    assert isinstance(subset, ToolSet)
    assert list(subset) == [c, a]
    assert len(tools) == 3


def test_select_unknown_names_are_all_named() -> None:
    tools = ToolSet([make("a"), make("b")])
    with pytest.raises(SchemaError, match=r"unknown tool\(s\) 'x', 'y'; available: a, b"):
        tools.select(["a", "x", "y"])


def test_openai_schemas() -> None:
    def free(data: dict) -> str:  # type: ignore[type-arg]
        """Take anything.

        Args:
            data: Anything.
        """
        return "ok"

    a, f = make("a"), tool(free)
    tools = ToolSet([a, f])
    schemas = tools.openai_schemas()
    assert [s["function"]["name"] for s in schemas] == ["a", "free"]
    assert [s["function"]["strict"] for s in schemas] == [True, False]
    assert schemas[0] is a.openai_schema()
    loose = tools.openai_schemas(strict=False)
    assert [s["function"]["strict"] for s in loose] == [False, False]
    with pytest.raises(SchemaError, match=r"tool 'free'(?s:.)*cannot be strict: parameter 'data'"):
        tools.openai_schemas(strict=True)


def test_invoke() -> None:
    tools = ToolSet([make("a"), make("b")])
    assert tools.invoke("b", '{"text": "hi"}').content == "b:hi"
    assert tools.invoke("a").content == "a:"
    bad = tools.invoke("a", {"txt": "hi"})
    assert bad.status == "error"
    assert "unknown argument 'txt'" in bad.content


async def test_ainvoke() -> None:
    tools = ToolSet([make("a")])
    assert (await tools.ainvoke("a", {"text": "x"})).content == "a:x"
    result = await tools.ainvoke("zzz", {})
    assert result.status == "error"
    assert "'zzz'" in result.content


def test_unknown_tool_is_an_error_result_listing_the_tools() -> None:
    result = ToolSet([make("a"), make("b")]).invoke("c", "{}")
    assert result.status == "error"
    assert "unknown tool 'c'" in result.content
    assert "a, b" in result.content
