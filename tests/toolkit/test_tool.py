"""``@tool`` forms, and what a ``Tool`` exposes besides its schema."""

from typing import Literal

from toolkit import Tool, tool


@tool
def roll_dice(sides: int = 6, times: Literal[1, 2, 3] = 1) -> list[int]:
    """Roll dice.

    Args:
        sides: Number of faces on each die.
        times: How many dice to roll.
    """
    return [sides] * times


def test_tool_is_callable_like_the_function() -> None:
    assert roll_dice(sides=20) == [20]
    assert roll_dice(4, 3) == [4, 4, 4]


def test_tool_keeps_name_and_doc() -> None:
    assert isinstance(roll_dice, Tool)
    assert roll_dice.__name__ == "roll_dice"
    assert roll_dice.__doc__ is not None
    assert roll_dice.__doc__.startswith("Roll dice.")


def test_tool_attributes() -> None:
    assert roll_dice.name == "roll_dice"
    assert roll_dice.description == "Roll dice."
    assert roll_dice.parameters["properties"]["sides"] == {
        "type": "integer",
        "description": "Number of faces on each die.",
        "default": 6,
    }
    assert roll_dice.strict_parameters is not None
    assert roll_dice.strict_reason is None
    assert roll_dice.injected == ()


def test_source_is_dedented_without_decorators() -> None:
    @tool(
        name="shout",
        description="Shout a word.",
    )
    def loud(word: str) -> str:
        """Shout.

        Args:
            word: The word.
        """
        return word.upper()

    assert loud.source is not None
    assert loud.source.startswith("def loud(word: str) -> str:\n")
    assert "@tool" not in loud.source
    assert "return word.upper()" in loud.source


def test_bare_decorator_and_empty_call_are_the_same() -> None:
    def greet(who: str) -> str:
        """Greet someone.

        Args:
            who: Whom to greet.
        """
        return f"hi {who}"

    bare = tool(greet)
    called = tool()(greet)
    assert bare.openai_schema() == called.openai_schema()
    assert bare.invoke({"who": "ann"}).content == "hi ann"


def test_decorator_with_name_and_description() -> None:
    @tool(name="say-hello", description="Say hello to someone.")
    def greet(who: str) -> str:
        """Greet someone (this text is overridden).

        Args:
            who: Whom to greet.
        """
        return f"hello {who}"

    assert greet.name == "say-hello"
    assert greet.description == "Say hello to someone."
    assert greet.__name__ == "greet"
    function = greet.openai_schema()["function"]
    assert function["name"] == "say-hello"
    assert function["description"] == "Say hello to someone."


def test_from_function_is_the_non_decorator_form() -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: First.
            b: Second.
        """
        return a + b

    t = Tool.from_function(add, name="plus", timeout=5)
    assert t.name == "plus"
    assert t.timeout == 5
    assert t(2, 3) == 5
    result = t.invoke('{"a": 2, "b": 3}')
    assert result.status == "success"
    assert result.content == "5"
    assert result.value == 5


def test_openai_schema_shape() -> None:
    schema = roll_dice.openai_schema()
    assert set(schema) == {"type", "function"}
    assert schema["type"] == "function"
    assert set(schema["function"]) == {"name", "description", "parameters", "strict"}
    assert schema["function"]["strict"] is True
    assert schema["function"]["parameters"] == roll_dice.strict_parameters
    loose = roll_dice.openai_schema(strict=False)
    assert loose["function"]["strict"] is False
    assert loose["function"]["parameters"] == roll_dice.parameters


def test_schemas_are_cached() -> None:
    assert roll_dice.openai_schema() is roll_dice.openai_schema()
    assert roll_dice.openai_schema(strict=False) is roll_dice.openai_schema(strict=False)
    assert roll_dice.openai_schema(strict=True) is roll_dice.openai_schema(strict=None)
    assert roll_dice.parameters == roll_dice.openai_schema(strict=False)["function"]["parameters"]
    assert roll_dice.strict_parameters == roll_dice.openai_schema()["function"]["parameters"]
