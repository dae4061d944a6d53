"""Functions from the peers' own test suites, rewritten for toolkit's table of peer cases.

Each function restates a case from a peer's test file (cited above it) in our own words: the
parameter shapes are the peers', the bodies are ours. Bodies only echo what they receive, so a
round trip can see exactly what reached the function.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

# -- openai-agents tests/test_function_schema.py ------------------------------------------------


def simple_function(a: int, b: int = 5) -> int:
    """Add two numbers.

    Args:
        a: The first argument
        b: The second argument
    """
    return a + b


def varargs_function(x: int, *numbers: float, flag: bool = False, **kwargs: Any) -> Any:
    return x, numbers, flag, kwargs


class Foo(TypedDict):
    a: int
    b: str


class InnerModel(BaseModel):
    a: int
    b: str


class OuterModel(BaseModel):
    inner: InnerModel
    foo: Foo


def complex_args_function(model: OuterModel) -> str:
    return f"{model.inner.a} {model.foo['b']}"


def complex_args_and_docs_function(model: OuterModel, some_flag: int = 0) -> str:
    """Take a model and a flag.

    Args:
        model: A model with an inner and foo field
        some_flag: An optional flag with a default of 0
    """
    return f"{model.inner.a} {some_flag}"


class MyEnum(str, Enum):
    FOO = "foo"
    BAR = "bar"


def enum_and_literal_function(a: MyEnum, b: Literal["a", "b", "c"]) -> str:
    return f"{a.value} {b}"


def var_positional_tuple(*args: tuple[int, ...]) -> int:
    return sum(sum(arg) for arg in args)


def var_keyword_dict(**kwargs: dict[str, int]) -> Any:
    return kwargs


def func_with_field_constraints(my_number: int = Field(..., gt=10, le=100)) -> int:
    return my_number * 2


def func_with_optional_field(
    required_param: str, optional_param: float = Field(default=5.0, ge=0.0)
) -> str:
    return f"{required_param}: {optional_param}"


def add_annotated(
    a: Annotated[int, "First number to add"], b: Annotated[int, "Second number to add"]
) -> int:
    return a + b


def func_with_field_desc_only(
    param_with_field_desc: int = Field(..., description="Field description only"),
    param_without_desc: str = Field(default="hello"),
) -> str:
    return f"{param_with_field_desc}: {param_without_desc}"


def func_with_string_field(
    name: str = Field(..., min_length=3, max_length=20, pattern=r"^[A-Za-z]+$"),
) -> str:
    return f"Hello, {name}!"


def func_with_multiple_field_constraints(
    score: int = Field(..., ge=0, le=100, description="Score from 0 to 100"),
    name: str = Field(default="Unknown", min_length=1, max_length=50),
    factor: float = Field(default=1.0, gt=0.0, description="Positive multiplier"),
) -> str:
    return f"{name} scored {score * factor}"


def func_with_annotated_field_constraints(my_number: Annotated[int, Field(gt=10, le=100)]) -> int:
    return my_number * 2


def func_with_annotated_optional_field(
    required_param: str, optional_param: Annotated[float, Field(default=5.0, ge=0.0)]
) -> str:
    return f"{required_param}: {optional_param}"


def func_with_annotated_multiple_field_constraints(
    score: Annotated[int, Field(ge=0, le=100, description="Score from 0 to 100")],
    name: Annotated[str, Field(default="Unknown", min_length=1, max_length=50)],
    factor: Annotated[float, Field(default=1.0, gt=0.0, description="Positive multiplier")],
) -> str:
    return f"{name} scored {score * factor}"


def no_args_function() -> str:
    """This function has no args."""
    return "ok"


# -- pydantic-ai tests/test_tools.py ------------------------------------------------------------


def sphinx_style_docstring(foo: int, /) -> str:
    """Sphinx style docstring.

    :param foo: The foo thing.
    """
    return str(foo)


def numpy_style_docstring(*, foo: int, bar: str) -> str:
    """Numpy style docstring.

    Parameters
    ----------
    foo : int
        The foo thing.
    bar : str
        The bar thing.
    """
    return f"{foo} {bar}"


def unknown_docstring(**kwargs: int) -> str:
    """Unknown style docstring."""
    return str(kwargs)


def google_style_docstring_no_body(
    foo: int, bar: Annotated[str, Field(description="from fields")]
) -> str:
    """
    Args:
        foo: The foo thing.
        bar: The bar thing.
    """  # the peer's shape: Args right after the quotes
    return f"{foo} {bar}"


class FooModel(BaseModel):
    x: int
    y: str


def takes_model_and_int(model: FooModel, z: int) -> str:
    return f"{model.x} {model.y} {z}"


def positional_and_keyword(a: int, /, b: str, *, c: float = 1.0) -> str:
    return f"{a} {b} {c}"


class A(BaseModel):
    foo: int


class B(BaseModel):
    bar: int


def union_of_models(x: A | B) -> str:
    return type(x).__name__


# -- the issue's own shapes (issue 13, measured against all peers) ------------------------------


def decimal_amount(amount: Decimal) -> str:
    return str(amount)


def bounded_decimal(amount: Annotated[Decimal, Field(max_digits=5, decimal_places=2)]) -> str:
    return str(amount)


def any_url(url: AnyUrl) -> str:
    return str(url)


class ExtraAllowed(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int


def extra_allowed(item: ExtraAllowed) -> int:
    return item.a


def fixed_tuple(pair: tuple[int, str]) -> str:
    return f"{pair[0]} {pair[1]}"


@dataclass
class Box:
    width: int
    label: str = "box"


def boxes(items: list[Box], tags: set[str] | None = None) -> int:
    return len(items)


# -- langchain-core tests/unit_tests/test_tools.py ----------------------------------------------


def structured_tool_input(arg1: int, arg2: bool, arg3: dict[str, Any] | None = None) -> str:
    """Return the arguments directly.

    Args:
        arg1: An integer.
        arg2: A boolean.
        arg3: An optional mapping.
    """
    return f"{arg1} {arg2} {arg3}"


def optional_list(xs: list[int] | None = None, mode: Literal["a", "b"] = "a") -> int:
    """Count the values.

    Args:
        xs: Some integers.
        mode: How to count.
    """
    return len(xs or [])


# -- Letta tests/test_tool_schema_parsing.py (its example files) -------------------------------


class Step(BaseModel):
    name: str = Field(..., description="Name of the step.")
    key: str = Field(..., description="Unique identifier for the step.")
    description: str = Field(..., description="An exhaustic description of what this step does.")


class Steps(BaseModel):
    steps: list[Step] = Field(..., description="List of steps to add to the task plan.")


def create_step(step: Step) -> str:
    """Create a step.

    Args:
        step: The step to create.
    """
    return step.key


def create_task_plan(steps: Steps) -> str:
    """Create a task plan.

    Args:
        steps: The steps of the plan.
    """
    return ",".join(s.key for s in steps.steps)


def roll_d20() -> str:
    """Simulate the roll of a 20-sided die (d20)."""
    return "20"


def check_order_status(
    order_number: int,
    customer_name: str,
    related_tickets: list[str],
    related_ticket_reasons: dict[str, str],
    severity: float,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Check the status of an order.

    Args:
        order_number: The order number.
        customer_name: The customer's name.
        related_tickets: Related ticket numbers.
        related_ticket_reasons: A reason for each ticket.
        severity: How severe the issue is.
        metadata: Anything else.
    """
    return str(order_number)


def check_order_status_nodict(
    order_number: int,
    customer_name: str,
    related_tickets: list[str],
    severity: float,
    urgent: bool | None = None,
) -> str:
    """Check the status of an order.

    Args:
        order_number: The order number.
        customer_name: The customer's name.
        related_tickets: Related ticket numbers.
        severity: How severe the issue is.
        urgent: Whether it is urgent.
    """
    return str(order_number)
