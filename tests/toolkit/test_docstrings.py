"""Tool and parameter descriptions, read from docstrings in any style and from annotations."""

from typing import Annotated, Any

import pytest
from pydantic import Field

from toolkit import SchemaError, Tool, tool

LEAKS = ["Args", "Returns", "Raises", "Examples", "Parameters", "the sum", "ValueError", ">>>"]


def _descriptions(t: Tool[..., Any]) -> dict[str, str]:
    props = t.parameters["properties"]
    return {name: prop["description"] for name, prop in props.items()}


def _assert_no_leak(description: str) -> None:
    for word in LEAKS:
        assert word not in description


def test_google() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Integers only; the result is exact.

        Args:
            a: The first number.
            b: The second number,
                continued on a second line.

        Returns:
            the sum of both.

        Raises:
            ValueError: never.

        Examples:
            >>> add(1, 2)
            3
        """
        return a + b

    assert add.description == "Add two numbers.\n\nIntegers only; the result is exact."
    _assert_no_leak(add.description)
    assert _descriptions(add) == {
        "a": "The first number.",
        "b": "The second number, continued on a second line.",
    }


def test_numpy() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Integers only.

        Parameters
        ----------
        a : int
            The first number.
        b : int
            The second number.

        Returns
        -------
        int
            the sum of both.

        Raises
        ------
        ValueError
            never.

        Examples
        --------
        >>> add(1, 2)
        3
        """
        return a + b

    assert add.description == "Add two numbers.\n\nIntegers only."
    _assert_no_leak(add.description)
    assert _descriptions(add) == {"a": "The first number.", "b": "The second number."}


def test_rest() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Integers only.

        :param a: The first number.
        :param b: The second number.
        :returns: the sum of both.
        :raises ValueError: never.
        """
        return a + b

    assert add.description == "Add two numbers.\n\nIntegers only."
    _assert_no_leak(add.description)
    assert _descriptions(add) == {"a": "The first number.", "b": "The second number."}


def test_epydoc() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Integers only.

        @param a: The first number.
        @param b: The second number.
        @return: the sum of both.
        @raise ValueError: never.
        """
        return a + b

    assert add.description == "Add two numbers.\n\nIntegers only."
    _assert_no_leak(add.description)
    assert _descriptions(add) == {"a": "The first number.", "b": "The second number."}


def test_docstring_style_forces_the_parser() -> None:
    def add(a: int) -> int:
        """Add one.

        Args:
            a: The number.
        """
        return a + 1

    assert _descriptions(tool(docstring_style="google")(add)) == {"a": "The number."}
    # Read as reST, the Args section is prose and documents nothing.
    with pytest.raises(SchemaError, match=r"parameter 'a' has no description"):
        tool(docstring_style="rest")(add)


def test_docstring_style_epydoc_forced() -> None:
    @tool(docstring_style="epydoc")
    def echo(text: str) -> str:
        """Echo text.

        @param text: What to echo.
        """
        return text

    assert echo.description == "Echo text."
    assert _descriptions(echo) == {"text": "What to echo."}


def test_typed_google_entries() -> None:
    @tool
    def scale(x: int, factor: float = 1.0) -> float:
        """Scale a number.

        Args:
            x (int): The number.
            factor (float, optional): The factor. Defaults to 1.0.
        """
        return x * factor

    assert _descriptions(scale) == {"x": "The number.", "factor": "The factor. Defaults to 1.0."}


def test_multi_paragraph_description() -> None:
    @tool
    def search(query: str) -> str:
        """Search the notes.

        First paragraph of detail.

        Second paragraph: with more
        detail over two lines.

        Args:
            query: What to look for.
        """
        return query

    assert search.description == (
        "Search the notes.\n\nFirst paragraph of detail.\n\n"
        "Second paragraph: with more\ndetail over two lines."
    )


def test_function_without_parameters() -> None:
    @tool
    def now() -> str:
        """Tell the time."""
        return "noon"

    assert now.description == "Tell the time."
    assert now.parameters["properties"] == {}
    assert now.parameters["required"] == []
    assert now.invoke().content == "noon"


def test_param_description_precedence() -> None:
    @tool
    def f(
        a: Annotated[int, Field(description="from Field")],
        b: Annotated[int, "from string"],
        c: int,
        d: Annotated[int, "string loses", Field(description="Field wins")],
    ) -> int:
        """Do f.

        Args:
            a: docstring loses to Field.
            b: docstring loses to string.
            c: from docstring.
            d: docstring loses too.
        """
        return a + b + c + d

    assert _descriptions(f) == {
        "a": "from Field",
        "b": "from string",
        "c": "from docstring.",
        "d": "Field wins",
    }


def test_annotated_description_needs_no_docstring_entry() -> None:
    @tool
    def f(a: Annotated[int, "The number."]) -> int:
        """Do f."""
        return a

    assert _descriptions(f) == {"a": "The number."}


def test_malformed_docstring_is_a_schema_error() -> None:
    def f(a: int) -> int:
        """Do f.

        Args:
        """
        return a

    with pytest.raises(SchemaError, match=r"function 'f'"):
        tool(f)


def test_summary_that_starts_with_a_section_word_is_kept() -> None:
    @tool
    def total(a: int) -> int:
        """Returns the total of the numbers.

        Args:
            a: A number.
        """
        return a

    assert total.description == "Returns the total of the numbers."
