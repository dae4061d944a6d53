"""Every problem with a function is found at decoration time and reported in one SchemaError."""

from typing import Annotated, Any

import pytest

from toolkit import Injected, SchemaError, Tool, tool


class Opaque:
    """A class pydantic cannot describe as JSON schema."""


def test_no_description() -> None:
    def f(a: int) -> int:
        return a

    with pytest.raises(SchemaError, match=r"function 'f'.*\n.*no description") as info:
        tool(f)
    assert any("no description" in p for p in info.value.problems)


def test_explicit_description_satisfies_the_tool_description() -> None:
    def f(a: Annotated[int, "A number."]) -> int:
        return a

    t = tool(description="Return the number.")(f)
    assert t.description == "Return the number."


def test_undocumented_parameter() -> None:
    def f(a: int, b: int) -> int:
        """Do f.

        Args:
            a: Documented.
        """
        return a + b

    with pytest.raises(SchemaError, match=r"parameter 'b' has no description") as info:
        tool(f)
    assert info.value.problems == [
        "parameter 'b' has no description (document it in Args:, with Field(description=...), "
        "or pass require_docs=False)"
    ]


def test_documented_parameter_not_in_signature() -> None:
    def f(a: int) -> int:
        """Do f.

        Args:
            a: Documented.
            ghost: Not a parameter.
        """
        return a

    with pytest.raises(SchemaError, match=r"documents 'ghost', which is not a parameter"):
        tool(f)


def test_missing_annotation() -> None:
    def f(a) -> int:  # type: ignore[no-untyped-def]
        """Do f.

        Args:
            a: Untyped.
        """
        return 1

    with pytest.raises(SchemaError, match=r"parameter 'a' has no type annotation"):
        tool(f)


def test_unsupported_type() -> None:
    def f(a: Opaque) -> int:
        """Do f.

        Args:
            a: Opaque.
        """
        return 1

    with pytest.raises(SchemaError, match=r"parameter 'a': unsupported type"):
        tool(f)


def test_var_positional_and_var_keyword() -> None:
    def f(*args: int, **kwargs: int) -> int:
        """Do f.

        Args:
            args: Numbers.
            kwargs: Named numbers.
        """
        return 1

    with pytest.raises(SchemaError, match=r"\*args: variadic") as info:
        tool(f)
    assert any(p.startswith("**kwargs: variadic") for p in info.value.problems)


@pytest.mark.parametrize("name", ["has space", "dotted.name", "x" * 65, "émoji", ""])
def test_name_outside_openai_pattern(name: str) -> None:
    def f(a: int) -> int:
        """Do f.

        Args:
            a: A number.
        """
        return a

    if name:
        with pytest.raises(SchemaError, match=r"must match \^\[a-zA-Z0-9_-\]\{1,64\}\$"):
            tool(name=name)(f)
    else:
        # An empty name falls back to the function's own name.
        assert tool(name=name)(f).name == "f"


@pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 64])
def test_name_inside_openai_pattern(name: str) -> None:
    def f() -> int:
        """Do f."""
        return 1

    assert tool(name=name)(f).name == name


def test_lambda_name_is_rejected() -> None:
    with pytest.raises(SchemaError, match=r"name '<lambda>' must match"):
        Tool.from_function(lambda: 1, description="A lambda.")


def test_every_problem_is_reported_together() -> None:
    def bad(a, b: Opaque, c: int, *rest: int, **more: int) -> None:  # type: ignore[no-untyped-def]
        """:param a: Untyped.
        :param b: Opaque.
        :param ghost: Not a parameter.
        """

    with pytest.raises(SchemaError) as info:
        tool(name="bad name")(bad)
    error = info.value
    message = str(error)
    assert message.startswith("function 'bad name': ")
    problems = error.problems
    assert len(problems) == 8, problems
    expected = [
        "must match",
        "no description: ",
        "*rest: variadic",
        "**more: variadic",
        "parameter 'a' has no type annotation",
        "documents 'ghost'",
        "parameter 'b': unsupported type",
        "parameter 'c' has no description",
    ]
    for fragment in expected:
        assert sum(fragment in p for p in problems) == 1, fragment
    for problem in problems:
        assert problem in message
    assert f"{len(problems)} problems" in message


def test_injected_parameters_are_exempt_from_docstring_checks() -> None:
    class Store:
        pass

    @tool
    def f(a: int, agent_state: Any, store: Injected[Store]) -> int:
        """Do f.

        Args:
            a: A number.
        """
        return a

    assert f.injected == ("agent_state", "store")

    @tool
    def g(a: int, agent_state: Any) -> int:
        """Do g.

        Args:
            a: A number.
            agent_state: Documented anyway; still fine.
        """
        return a

    assert g.injected == ("agent_state",)
    assert list(g.parameters["properties"]) == ["a"]


def test_docstring_with_only_an_args_section_has_no_description() -> None:
    def f(a: int) -> int:
        """Args:
        a: A number.
        """
        return a

    with pytest.raises(SchemaError, match=r"function 'f'.*\n.*no description"):
        tool(f)
