"""``Tool.from_source``: a tool from source text, as tools are stored."""

import pytest

from toolkit import SchemaError, Tool

WORD_COUNT = '''
def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text.
    """
    import re

    return len(re.findall(r"\\w+", text))
'''


def test_self_contained_function() -> None:
    t = Tool.from_source(WORD_COUNT)
    assert t.name == "word_count"
    assert t.description == "Count the words in a text."
    assert t.invoke({"text": "one two, three"}).value == 3
    assert t.source is not None
    assert t.source.strip() == WORD_COUNT.strip()


def test_indented_source_is_dedented() -> None:
    indented = "\n".join("        " + line if line else "" for line in WORD_COUNT.splitlines())
    t = Tool.from_source(indented)
    assert t.invoke({"text": "a b"}).value == 2
    assert t.source is not None
    assert t.source.lstrip().startswith('def word_count(text: str) -> int:\n    """Count')


def test_name_picks_one_of_several_functions() -> None:
    code = (
        WORD_COUNT
        + '''

def shout(text: str) -> str:
    """Shout a text.

    Args:
        text: The text.
    """
    return text.upper()
'''
    )
    assert Tool.from_source(code, name="shout").invoke({"text": "hi"}).content == "HI"
    assert Tool.from_source(code, name="word_count").name == "word_count"
    with pytest.raises(SchemaError, match=r"2 top-level functions \(word_count, shout\)"):
        Tool.from_source(code)
    with pytest.raises(SchemaError, match=r"no top-level function 'nope'"):
        Tool.from_source(code, name="nope")


def test_module_level_helpers_are_visible_to_the_function() -> None:
    code = '''
LIMIT = 2

def clip(items: list[int]) -> list[int]:
    """Clip a list.

    Args:
        items: The list.
    """
    return items[:LIMIT]
'''
    assert Tool.from_source(code).invoke({"items": [1, 2, 3]}).value == [1, 2]


def test_nested_helper_is_not_the_tool() -> None:
    code = '''
def total(prices: list[float]) -> float:
    """Add up prices with tax.

    Args:
        prices: The prices.
    """
    def with_tax(p: float) -> float:
        return p * 2

    return sum(with_tax(p) for p in prices)
'''
    t = Tool.from_source(code)
    assert t.name == "total"
    assert t.invoke({"prices": [1, 2]}).value == 6


def test_async_function() -> None:
    code = '''
async def later(n: int) -> int:
    """Add one, later.

    Args:
        n: A number.
    """
    import asyncio

    await asyncio.sleep(0)
    return n + 1
'''
    t = Tool.from_source(code)
    assert t.invoke({"n": 1}).value == 2


async def test_async_function_ainvoke() -> None:
    code = '''
async def later(n: int) -> int:
    """Add one, later.

    Args:
        n: A number.
    """
    return n + 1
'''
    assert (await Tool.from_source(code).ainvoke({"n": 4})).value == 5


def test_fresh_namespace_each_time() -> None:
    first = Tool.from_source(
        '''
SHARED = "first"

def f() -> str:
    """Say which."""
    return SHARED
'''
    )
    second = Tool.from_source(
        '''
def f() -> str:
    """Say which."""
    return SHARED
'''
    )
    assert first.invoke().content == "first"
    result = second.invoke()
    assert result.status == "error"
    assert "NameError" in result.content


def test_options_are_passed_on() -> None:
    t = Tool.from_source(WORD_COUNT, description="Words.", timeout=1.0)
    assert t.description == "Words."
    assert t.timeout == 1.0


def test_syntax_error() -> None:
    with pytest.raises(SchemaError, match=r"syntax error at line 2"):
        Tool.from_source("x = 1\ndef f(:\n    return 1\n")


def test_no_function() -> None:
    with pytest.raises(SchemaError, match=r"0 top-level functions"):
        Tool.from_source("x = 1\n")


def test_code_raising_when_run() -> None:
    with pytest.raises(SchemaError, match=r"running it raised ZeroDivisionError"):
        Tool.from_source("x = 1 / 0\n\ndef f() -> int:\n    '''F.'''\n    return x\n")


def test_function_problems_are_schema_errors() -> None:
    with pytest.raises(
        SchemaError, match=r"function 'f'.*\n.*parameter 'a' has no type annotation"
    ):
        Tool.from_source("def f(a):\n    '''F.\n\n    Args:\n        a: A.\n    '''\n")


SHOUT = '''
import json

from toolkit import tool


@tool(name="ignored_here")
def shout(text: str) -> str:
    """Shout a text.

    Args:
        text: What to shout.
    """
    return json.dumps(text.upper())
'''


def test_function_picks_the_def_and_name_names_the_tool() -> None:
    t = Tool.from_source(SHOUT, name="shout_tool", function="shout", return_char_limit=5)
    assert t.name == "shout_tool"
    assert t.options == {"name": "shout_tool", "return_char_limit": 5}
    assert t.invoke({"text": "hi"}).content == '"HI"'
    assert t.source is not None
    assert "import json" in t.source  # only the decorator line is dropped
    assert "@tool" not in t.source


def test_namespace_gives_names_besides_the_sources_own() -> None:
    code = '''
def clip(items: list[int]) -> list[int]:
    """Clip a list.

    Args:
        items: The list.
    """
    return items[:LIMIT]
'''
    t = Tool.from_source(code, namespace={"LIMIT": 1, "__name__": "not copied"})
    assert t.invoke({"items": [1, 2, 3]}).value == [1]


def test_options_record_what_differs_from_the_defaults() -> None:
    t = Tool.from_source(WORD_COUNT, strict=False, timeout=2.0, docstring_style="google")
    assert t.options == {"strict": False, "timeout": 2.0, "docstring_style": "google"}
    assert Tool.from_source(WORD_COUNT).options == {}
